"""One module per step of the loop; ``registry`` orders them, ``run`` is the context a step runs in.

Also the prompts (jinja2), ``author_call`` (one author call top to
bottom) and what several steps share: ``gates``, ``code_view``,
``plan_docs``, ``change``; no step module imports another. May import
after_deploy, judging, agents and everything below; the loop calls the
steps, never the reverse.
"""

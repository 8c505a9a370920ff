"""One module per step of the loop; ``registry`` orders them, ``run`` is the context a step runs in.

Also the prompts (jinja2) and ``author_call``, one author call top to
bottom. May import after_deploy, judging, agents and everything below;
the loop calls the steps, never the reverse.
"""

"""What runs after a deploy: check definitions and their runners, deploy stamps, run folders, GCP detection.

``checks/`` parses and runs a validation plan's checks (command, HTTP,
BigQuery, Cloud Logging); ``deploys`` stamps a deploy and runs the configured
deploy and rollback commands; ``runs`` names the folders a smoke run writes;
``gcpdetect`` finds the GCP surfaces a feature's deploy files touch. May
import judging and everything below it; the steps use it, never the reverse.
"""

"""The agent's playbook runner: the playbooks it holds, and one module per step kind."""

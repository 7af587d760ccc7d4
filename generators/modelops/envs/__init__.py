"""Environment verbs: `modelops env new`, scaffolding an environment from an existing one."""

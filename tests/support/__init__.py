"""What the tests share: the local stacks, the simulator, people, AWS set-up, handlers."""

"""Domain logic: plain, typed modules with their AWS and WeChat access passed in."""

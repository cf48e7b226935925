"""``make soak``: many simulated users against the whole local stack while AWS, WeChat and Lambda
fail at random, then a checker that proves nothing was lost, doubled or wrongly passed."""

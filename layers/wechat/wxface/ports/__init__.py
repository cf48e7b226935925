"""What the domain needs from the world, as narrow protocols it owns, and the exceptions those
raise: below both the domain (which calls them) and ``dal`` (which implements them on AWS), so
neither imports the other."""

"""Shared core of the WeChat face-verification backend (the Lambda layer).

Subpackages:
- ``wxface.wechat``: the typed WeChat client, its models, errors and the code catalogue.
- ``wxface.identity``: ID number and name validation (GB 11643-1999) and the hashes WeChat uses.
"""

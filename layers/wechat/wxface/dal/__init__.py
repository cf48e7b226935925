"""Adapters to AWS: boto3 clients, SSM parameters, the DynamoDB table."""

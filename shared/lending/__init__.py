"""The lending domain package: pure domain logic shared by every Lambda.

Domain modules never import boto3 nor read os.environ; AWS lives in `lending.aws`.
"""

"""The mini-program API's contracts: request and reply models (source of the OpenAPI doc)."""

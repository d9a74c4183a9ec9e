"""Payment providers: Standard Webhooks signatures, the provider simulator and its adapter."""

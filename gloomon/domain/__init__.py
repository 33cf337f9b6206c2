"""The pure core: parse Envoy admin data, certificates and logs; infer phases; judge health.

Imports only the standard library and ``cryptography``: no textual, httpx, kubernetes or asyncio IO.
"""

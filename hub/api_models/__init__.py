"""Every request and response shape of the hub's HTTP API, in one place, one module per
resource: the console's routes and the public /api/v1 routes read and answer with these
same pydantic models, and /api/v1/openapi.json is generated from them.

A body or query that does not fit its model raises pydantic's `ValidationError`, which
`hub.http_errors` answers with a 400 naming the field. Checks that need the running hub
(which channels it runs, whether a username is taken) stay in the handlers.
"""

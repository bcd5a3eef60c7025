"""What stands between a request and its handler: request ids and the access log, the Host
check, problem documents, tokens and who the caller is, what each role may do, rate limits and
what a write costs, and the leases that end long requests when their token is revoked."""

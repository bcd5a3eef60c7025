"""HTTP handlers, thin: parse the request, ask the rules and the store, present the answer."""

"""Entry points for agents: one honest consult of a saved consortium (`consult`),
served over MCP (`mcp_server`) and as an llm tool (`toolbox`)."""

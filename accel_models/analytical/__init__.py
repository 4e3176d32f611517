"""Our own analytical cost model: fast, vectorised over layers and candidates."""

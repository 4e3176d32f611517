"""Hardware YAML shipped with codesign (templates, hardware search spaces, technology tables). No code."""

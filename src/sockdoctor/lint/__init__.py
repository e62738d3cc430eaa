"""`sockdoctor lint`: static checks of a repository's configuration files (see runner.py)."""
from sockdoctor.lint.config import ConfigError, LintConfig, find_config, load_config
from sockdoctor.lint.runner import LintResult, Location, analysis_available, lint_paths, lint_texts

__all__ = ["ConfigError", "LintConfig", "LintResult", "Location", "analysis_available", "find_config",
           "lint_paths", "lint_texts", "load_config"]

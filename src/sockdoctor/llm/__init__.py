"""Ask an LLM of the user's choice, with the user's own key, sending only redacted text.

Edge module: it does network I/O (urllib only). Providers: any OpenAI-compatible Chat Completions
endpoint and the Anthropic Messages API, streaming (SSE) or not.
"""
from sockdoctor.llm.client import Answer, LLMConfig, LLMError, PreparedRequest, complete, prepare, describe

__all__ = ["Answer", "LLMConfig", "LLMError", "PreparedRequest", "complete", "prepare", "describe"]

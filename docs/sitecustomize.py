import _indexauth_startup; _indexauth_startup.install()  # noqa: E702, I001 - indexauth global mode

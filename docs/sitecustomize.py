# indexauth global mode without the .pth file; INDEXAUTH=1 still decides.
import _indexauth_startup; _indexauth_startup.install()  # noqa: E702

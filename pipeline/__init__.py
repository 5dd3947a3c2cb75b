"""Vitrina's compiler: exhibit specs in, optimized glTF scenes and a static WebXR site out."""

__version__ = "0.1.0"

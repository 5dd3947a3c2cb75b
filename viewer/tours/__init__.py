"""The live tour server: a guide leads visitors through an exhibit's tour in real time."""

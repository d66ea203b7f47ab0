"""A small module with a few things flake8 reports, to try codecheck with."""
import os, sys


def greet(name):
    unused = 42
    return "Hello, %s!" % name


if __name__ == "__main__":
    print(greet(sys.argv[1] if len(sys.argv) > 1 else "world"))

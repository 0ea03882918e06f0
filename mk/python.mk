# ---- examples/python: the pure-Python ctypes package (libsds), its
# unittest tests and its example, run against build/libsds.so (standard
# library only).
PYTHON ?= python3
.PHONY: python-test example-python

python-test: $(B)/libsds.so
	cd examples/python && LIBSDS_PATH=$(CURDIR)/$(B)/libsds.so \
		$(PYTHON) -m unittest discover -s tests -t . $(PYTHON_TEST_FLAGS)
	LIBSDS_PATH=$(CURDIR)/$(B)/libsds.so $(PYTHON) examples/python/example.py > /dev/null

example-python: $(B)/libsds.so
	LIBSDS_PATH=$(CURDIR)/$(B)/libsds.so $(PYTHON) examples/python/example.py

# python-install-test: `pip install ./examples/python` (offline, with the
# setuptools Debian ships: PIP_PYTHON is Debian's interpreter, in a venv
# that sees its site-packages) gives a package that works from any
# directory with no environment variable (examples/python/install_check.py,
# run isolated: -I keeps the checkout off sys.path).
# (The package's version is the library's: meta-test.)
PIP_PYTHON ?= /usr/bin/python3
.PHONY: python-install-test
python-install-test: $(B)/libsds.so
	rm -rf $(B)/pyvenv
	$(PIP_PYTHON) -m venv --system-site-packages $(B)/pyvenv
	$(B)/pyvenv/bin/python -m pip install --quiet --no-index --no-build-isolation ./examples/python
	cd / && env -u LIBSDS_PATH $(CURDIR)/$(B)/pyvenv/bin/python -I $(CURDIR)/examples/python/install_check.py

TEST_EXTRA += python-test python-install-test

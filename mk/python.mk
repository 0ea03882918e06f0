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

TEST_EXTRA += python-test

# ---- examples/python: the pure-Python ctypes package (libsds) and its
# unittest tests, run against build/libsds.so (standard library only).
PYTHON ?= python3
.PHONY: python-test

python-test: $(B)/libsds.so
	cd examples/python && LIBSDS_PATH=$(CURDIR)/$(B)/libsds.so \
		$(PYTHON) -m unittest discover -s tests -t . $(PYTHON_TEST_FLAGS)

TEST_EXTRA += python-test

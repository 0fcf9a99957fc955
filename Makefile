# CNN Studio: `make run` opens the app, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PACKAGE_STAMP := $(VENV)/.installed-package

# Shared libraries Qt needs on a bare Debian/Ubuntu (offscreen platform), and their packages.
QT_LIBS := libEGL.so.1:libegl1 libGL.so.1:libgl1 libOpenGL.so.0:libopengl0 \
           libxkbcommon.so.0:libxkbcommon0 libfontconfig.so.1:libfontconfig1 \
           libfreetype.so.6:libfreetype6 libdbus-1.so.3:libdbus-1-3 libglib-2.0.so.0:libglib2.0-0 \
           libX11.so.6:libx11-6 libgssapi_krb5.so.2:libgssapi-krb5-2
# What a real window needs besides: Qt's xcb (X11) platform plugin.
WINDOW_LIBS := $(QT_LIBS) libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1 \
           libxcb-cursor.so.0:libxcb-cursor0 libxkbcommon-x11.so.0:libxkbcommon-x11-0 \
           libxcb-image.so.0:libxcb-image0 libxcb-randr.so.0:libxcb-randr0 \
           libxcb-render-util.so.0:libxcb-render-util0 libxcb-shape.so.0:libxcb-shape0 \
           libxcb-xkb.so.1:libxcb-xkb1
# What the frozen app needs (the xcb and Wayland platform plugins), so PyInstaller bundles
# them or the .deb's Depends names them; and the tools that build the .deb.
PACKAGE_LIBS := $(WINDOW_LIBS) libwayland-cursor.so.0:libwayland-cursor0 \
           libwayland-egl.so.1:libwayland-egl1

.PHONY: run test test-all bench bench-latency bench-package package package-test system-deps \
        window-deps package-deps clean

run: $(RUN_STAMP) window-deps
	$(BIN)/cnn-studio

# Two test processes (one per core of a small CI machine), each test file in one of them so
# its module fixtures (a trained run, a warm engine) are made once.
test: $(TEST_STAMP) system-deps
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not slow" -n 2 --dist worksteal --durations=15

test-all: $(TEST_STAMP) system-deps
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 --dist worksteal

bench: $(RUN_STAMP)
	$(BIN)/python benchmarks/bench_shapes.py
	$(BIN)/python benchmarks/bench_gui.py
	$(BIN)/python benchmarks/bench_latency.py
	$(BIN)/python benchmarks/bench_training.py

# What a user waits for in the window: Train, Lab tabs, exports (the warm engine).
bench-latency: $(RUN_STAMP)
	$(BIN)/python benchmarks/bench_latency.py

# dist/: the frozen app, and this OS's installers (Linux: .deb and .tar.gz).
package: $(PACKAGE_STAMP) package-deps
	$(BIN)/python packaging/make_package.py

# Builds, then installs the .deb into a scratch root, runs its self-test and uninstalls.
package-test: package
	packaging/smoke_test.sh

# The installed app against the source install: start-up to the window, and self-test.
bench-package: package
	$(BIN)/python benchmarks/bench_startup.py

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("CNN Studio needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[test]"
	touch $@ $(RUN_STAMP)

$(PACKAGE_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[package]"
	touch $@ $(RUN_STAMP)

# Installs the missing system libraries with apt (as root), or says which to install.
system-deps: LIBS = $(QT_LIBS)
window-deps: LIBS = $(WINDOW_LIBS)
package-deps: LIBS = $(PACKAGE_LIBS)
system-deps window-deps package-deps:
	@missing=""; for entry in $(LIBS); do \
	    lib=$${entry%%:*}; pkg=$${entry##*:}; \
	    ldconfig -p 2>/dev/null | grep -q "$$lib" || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$(fc-list 2>/dev/null | head -n 1)" ]; then missing="$$missing fonts-dejavu-core"; fi; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "Installing Qt system packages:$$missing"; \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	    else \
	        echo "Qt needs these system packages:$$missing (install them with your package manager)"; \
	    fi; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis

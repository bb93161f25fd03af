# SPDX-License-Identifier: MIT
# Day-to-day shortcuts over the CMake presets (the README's two commands need no make).
.PHONY: all build debug asan fuzz test unit e2e demo format clean

all: build

build:
	cmake --preset release && cmake --build --preset release

debug:
	cmake --preset debug && cmake --build --preset debug

asan:
	cmake --preset asan && cmake --build --preset asan

unit: build
	ctest --preset release -L unit --parallel 2

e2e: build
	ctest --preset release -L e2e --parallel 2

test:
	bash dev test

demo:
	bash dev demo

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build

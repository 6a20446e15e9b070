// SPDX-License-Identifier: GPL-2.0
/* The C++ standard library allocating through its templates. */
#include <map>
#include <memory>
#include <string>
#include <vector>

__attribute__((noinline)) static std::map<std::string, std::vector<int>> build()
{
	std::map<std::string, std::vector<int>> m;

	for (int i = 0; i < 50; i++) {
		std::string key = "key-number-" + std::to_string(i * 37);
		for (int j = 0; j <= i % 9; j++)
			m[key].push_back(j);
	}
	return m;
}

int main()
{
	auto m = build();
	auto shared = std::make_shared<std::vector<double>>(100, 1.5);
	auto leaked = new std::string(64, 'z');
	return m.size() != 50 || shared->size() != 100 || leaked->empty();
}

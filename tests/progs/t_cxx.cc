// SPDX-License-Identifier: GPL-2.0
/* C++ operator new and delete in their variants. */
#include <new>
#include <string>
#include <vector>

struct alignas(64) Wide {
	char bytes[128];
};

__attribute__((noinline)) static int *leak_ints() { return new int[3]; }

int main()
{
	int *one = new int(7);
	delete one;
	char *arr = new char[100];
	delete[] arr;
	Wide *w = new Wide;		// aligned new, sized delete
	delete w;
	void *big = ::operator new(1000, std::align_val_t(256));
	::operator delete(big, std::align_val_t(256));
	int *nt = new (std::nothrow) int[40];
	delete[] nt;
	std::vector<long> v;
	for (int i = 0; i < 100; i++)
		v.push_back(i);		// grows by doubling through new/delete
	std::string s(200, 'x');
	int *leaked = leak_ints();
	return leaked == nullptr || s.size() != 200 || v.size() != 100;
}

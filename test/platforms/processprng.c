/*
 * bcryptprimitives.dll for wine 8.0, which lacks it: Go 1.22 and later get their
 * random numbers from ProcessPrng in this DLL and stop at start without it. This one
 * fills the buffer from advapi32's RtlGenRandom (SystemFunction036), which wine has.
 * Built by test/platforms.sh with x86_64-w64-mingw32-gcc into the wine prefix's
 * system32 (Go loads it from there only). For tests under wine; never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}

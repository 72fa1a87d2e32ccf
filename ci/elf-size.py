#!/usr/bin/env python3
"""Print a firmware image's flash and RAM use, read from its ELF section headers.

    python3 ci/elf-size.py IMAGE.elf
    -> text=N data=N bss=N flash=N ram=N

Sections are classed as Berkeley `size` does: `text` is allocated read-only (code, rodata,
vector table), `data` allocated writable with contents (copied from flash into RAM at boot), `bss`
allocated writable without contents. flash = text + data, ram = data + bss. riscv-rt's `.heap`
and `.stack` are left out: they are reservations of whatever RAM the image leaves free, not
memory the program asked for (the firmware's heap is a static array, counted in bss).
Plain python so that CI needs no binutils (llvm-size, cargo-binutils).
"""

import struct
import sys

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHT_NOBITS = 8
RESERVATIONS = {".heap", ".stack"}


def sections(image):
    if image[:4] != b"\x7fELF":
        raise SystemExit("elf-size: not an ELF file")
    is_64 = image[4] == 2
    endian = "<" if image[5] == 1 else ">"
    if is_64:
        shoff, = struct.unpack_from(endian + "Q", image, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", image, 0x3A)
        header = endian + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(endian + "I", image, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", image, 0x2E)
        header = endian + "IIIIIIIIII"
    rows = [struct.unpack_from(header, image, shoff + i * shentsize) for i in range(shnum)]
    names_offset = rows[shstrndx][4]
    for name_at, kind, flags, _addr, _offset, size, *_rest in rows:
        start = names_offset + name_at
        name = image[start:image.index(b"\0", start)].decode()
        yield name, kind, flags, size


def measure(path):
    with open(path, "rb") as file:
        image = file.read()
    text = data = bss = 0
    for name, kind, flags, size in sections(image):
        if not flags & SHF_ALLOC or name in RESERVATIONS:
            continue
        if not flags & SHF_WRITE:
            text += size
        elif kind == SHT_NOBITS:
            bss += size
        else:
            data += size
    return {"text": text, "data": data, "bss": bss, "flash": text + data, "ram": data + bss}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: elf-size.py IMAGE")
    print(" ".join(f"{key}={value}" for key, value in measure(sys.argv[1]).items()))

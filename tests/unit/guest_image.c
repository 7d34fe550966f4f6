#include "guest_image.h"

#include <elf.h>
#include <string.h>

#define IMAGE_LOAD_ADDR 0x100000u
#define IMAGE_CODE_OFF 0x1000u

struct pvh_note {
	Elf64_Nhdr nhdr;
	char name[4]; /* "Xen\0" */
	uint32_t entry;
};

size_t guest_image_pvh_elf(uint8_t *buf, size_t cap, const uint8_t *code, size_t code_len)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2];
	struct pvh_note note = { { 4, 4, 18 }, "Xen", IMAGE_LOAD_ADDR };
	size_t note_off = sizeof(eh) + sizeof(ph);
	size_t len = IMAGE_CODE_OFF + code_len;

	if (cap < len || note_off + sizeof(note) > IMAGE_CODE_OFF)
		return 0;
	memset(buf, 0, len);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = IMAGE_LOAD_ADDR;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R | PF_X;
	ph[0].p_offset = IMAGE_CODE_OFF;
	ph[0].p_vaddr = ph[0].p_paddr = IMAGE_LOAD_ADDR;
	ph[0].p_filesz = ph[0].p_memsz = code_len;
	ph[0].p_align = 0x1000;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = note_off;
	ph[1].p_filesz = ph[1].p_memsz = sizeof(note);
	ph[1].p_align = 4;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	memcpy(buf + note_off, &note, sizeof(note));
	memcpy(buf + IMAGE_CODE_OFF, code, code_len);
	return len;
}

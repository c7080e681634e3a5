/*
 * The records this driver writes, tied to driver/include/events.h as the TypeScript
 * decoders read them (src/kernel/records/common.ts, src/families/<family>/records.ts). A failing
 * assert stops the build. test/windows/driver.test.ts also compiles the TS layout tables
 * into asserts with this compiler, so the two sides cannot drift apart.
 */
#include "sysmon_ts.h"

#define AT(s, f, off) _Static_assert(offsetof(struct s, f) == (off), "offsetof(" #s ", " #f ")")
#define SIZE(s, n) _Static_assert(sizeof(struct s) == (n), "sizeof(" #s ")")

/* the common parts and the Linux records this driver writes too */
SIZE(record_header, 24); AT(record_header, size, 4); AT(record_header, boot_ns, 8); AT(record_header, tgid, 16);
SIZE(str_ref, 8);
SIZE(process_ids, 56); AT(process_ids, sessionid, 16); AT(process_ids, ppid, 20); AT(process_ids, end_code, 32);
SIZE(exit_record, 88); AT(exit_record, ids, 24); AT(exit_record, exit_code, 80);
SIZE(target_ids, 32); AT(target_ids, start_boot_ns, 16); AT(target_ids, end_code, 24);
SIZE(access_record, 128); AT(access_record, target, 80); AT(access_record, granted, 112); AT(access_record, how, 116);
SIZE(inject_record, 128); AT(inject_record, start_address, 112); AT(inject_record, request, 120);
SIZE(tamper_record, 112); AT(tamper_record, kind, 80); AT(tamper_record, exe, 104);

/* the Windows records */
SIZE(win_process_record, 136); AT(win_process_record, ids, 24); AT(win_process_record, create_time, 80);
AT(win_process_record, logon_id, 88); AT(win_process_record, integrity_rid, 96); AT(win_process_record, flags, 100);
AT(win_process_record, creating_pid, 104); AT(win_process_record, creating_tid, 108); AT(win_process_record, image, 112);
AT(win_process_record, command_line, 120); AT(win_process_record, user_sid, 128);
SIZE(win_image_record, 64); AT(win_image_record, image_base, 24); AT(win_image_record, image_size, 32);
AT(win_image_record, properties, 40); AT(win_image_record, process_start_key, 48); AT(win_image_record, path, 56);
SIZE(win_file_record, 80); AT(win_file_record, op, 24); AT(win_file_record, attributes, 28);
AT(win_file_record, create_result, 32); AT(win_file_record, desired_access, 36); AT(win_file_record, creation_time, 40);
AT(win_file_record, prev_creation_time, 48); AT(win_file_record, process_start_key, 56); AT(win_file_record, path, 64);
AT(win_file_record, new_path, 72);
SIZE(win_reg_record, 80); AT(win_reg_record, op, 24); AT(win_reg_record, value_type, 28); AT(win_reg_record, data_size, 32);
AT(win_reg_record, process_start_key, 40); AT(win_reg_record, key, 48); AT(win_reg_record, value, 56);
AT(win_reg_record, data, 64); AT(win_reg_record, new_name, 72);
SIZE(win_stack_record, 40); AT(win_stack_record, for_type, 24); AT(win_stack_record, frames, 32);
_Static_assert(offsetof(struct win_stack_record, frames) + sizeof(struct str_ref) == sizeof(struct win_stack_record),
	"the frames follow the fixed part directly (object.c builds it on the stack)");

/* the ring */
SIZE(win_ring_producer, 32); AT(win_ring_producer, dropped, 8); AT(win_ring_producer, magic, 16);
AT(win_ring_producer, data_size, 24);
SIZE(win_ring_info, 24); AT(win_ring_info, data_size, 8); AT(win_ring_info, header_bytes, 16);
_Static_assert(WIN_RING_PRODUCER_OFF + sizeof(struct win_ring_producer) <= WIN_RING_HEADER_BYTES, "producer page fits");
_Static_assert(WIN_RING_BUSY == 0x80000000u && WIN_RING_DISCARD == 0x40000000u, "the BPF ring's header bits");
_Static_assert(IOCTL_SYSMON_TS_GET_RING ==
	CTL_CODE(SYSMON_TS_DEVICE_TYPE, 0x801, METHOD_BUFFERED, FILE_READ_DATA | FILE_WRITE_DATA), "IOCTL code");
_Static_assert(RING_DEFAULT_BYTES % 65536 == 0 && (RING_DEFAULT_BYTES & (RING_DEFAULT_BYTES - 1)) == 0, "ring size");
/* Sysmon's GrantedAccess is an ACCESS_MASK: the record carries it whole */
_Static_assert(sizeof(((struct access_record *)0)->granted) == sizeof(ACCESS_MASK), "granted is an ACCESS_MASK");

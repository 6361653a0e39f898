/*
 * SecAI shipped static-scan rules (issue 4 §3.5). Compiled and run by the real `yara` binary
 * (tested with 4.2.3) through src/scan/yara.ts.
 *
 * Unlike the reference's rules there is NO `filesize < 500MB` precondition: every rule applies to
 * every byte of every file, whatever its size. Patterns are long or structurally constrained
 * (executable headers are checked field by field) so that random weight bytes of a multi-GiB
 * model do not produce chance hits, and no string is short enough to collect millions of matches.
 *
 * Tags: the first tag is the category, `critical` marks rules that are code execution on load.
 */

private rule SecAI_Is_GGUF
{
    condition:
        uint32(0) == 0x46554747 // "GGUF"
}

private rule SecAI_Is_Safetensors
{
    condition:
        // u64 LE header length (< 4 GiB in practice, so the high half is 0), then the JSON '{'.
        filesize > 9 and uint32(4) == 0 and uint8(8) == 0x7B
}

private rule SecAI_Is_Model
{
    condition:
        SecAI_Is_GGUF or SecAI_Is_Safetensors
}

// --- pickle code execution ----------------------------------------------------------------------

rule SecAI_Pickle_Dangerous_Import : pickle critical
{
    meta:
        description = "pickle GLOBAL opcode (protocols 0-3) importing a code-execution callable; also the JSON-escaped form found in safetensors metadata"
        severity = "critical"
    strings:
        $g0 = /c(os|posix|nt|subprocess|builtins|__builtin__|pty|commands)(\n|\\n)(system|popen|popen2|popen3|execl|execlp|execv|execve|execvp|spawnl|spawnv|spawnve|Popen|call|check_call|check_output|run|getoutput|getstatusoutput|spawn|eval|exec|execfile|compile|__import__|getattr|open)(\n|\\n)/
    condition:
        $g0
}

rule SecAI_Pickle_Stack_Global_Import : pickle critical
{
    meta:
        description = "pickle protocol 2-5 STACK_GLOBAL built from SHORT_BINUNICODE module and name strings (memo ops allowed in between)"
        severity = "critical"
    strings:
        // 8C <len> "os" ... 8C 06 "system" ... 93
        $os_system     = { 8C 02 6F 73 [0-8] 8C 06 73 79 73 74 65 6D [0-8] 93 }
        $os_popen      = { 8C 02 6F 73 [0-8] 8C 05 70 6F 70 65 6E [0-8] 93 }
        $posix_system  = { 8C 05 70 6F 73 69 78 [0-8] 8C 06 73 79 73 74 65 6D [0-8] 93 }
        $nt_system     = { 8C 02 6E 74 [0-8] 8C 06 73 79 73 74 65 6D [0-8] 93 }
        // "subprocess" then any of Popen/call/check_output/run
        $subprocess    = { 8C 0A 73 75 62 70 72 6F 63 65 73 73 [0-8] 8C (05 50 6F 70 65 6E | 04 63 61 6C 6C | 0C 63 68 65 63 6B 5F 6F 75 74 70 75 74 | 03 72 75 6E) [0-8] 93 }
        // "builtins" then eval/exec/__import__
        $builtins      = { 8C 08 62 75 69 6C 74 69 6E 73 [0-8] 8C (04 65 76 61 6C | 04 65 78 65 63 | 0A 5F 5F 69 6D 70 6F 72 74 5F 5F) [0-8] 93 }
    condition:
        any of them
}

rule SecAI_Pickle_Reduce_Gadget : pickle critical
{
    meta:
        description = "the byte shape a __reduce__ payload pickles to: GLOBAL of a code-execution callable, its argument tuple, REDUCE"
        severity = "critical"
    strings:
        // 'c' module '\n' name '\n' ... TUPLE/TUPLE1-3 [MEMOIZE|BINPUT n] REDUCE
        $os_system   = { 63 6F 73 0A 73 79 73 74 65 6D 0A [1-160] (74 | 85 | 86 | 87) [0-2] 52 }
        $posix       = { 63 70 6F 73 69 78 0A 73 79 73 74 65 6D 0A [1-160] (74 | 85 | 86 | 87) [0-2] 52 }
        $subprocess  = { 63 73 75 62 70 72 6F 63 65 73 73 0A [3-16] 0A [1-160] (74 | 85 | 86 | 87) [0-2] 52 }
        $eval        = { 63 62 75 69 6C 74 69 6E 73 0A (65 76 61 6C | 65 78 65 63) 0A [1-160] (74 | 85 | 86 | 87) [0-2] 52 }
        $eval2       = { 63 5F 5F 62 75 69 6C 74 69 6E 5F 5F 0A (65 76 61 6C | 65 78 65 63) 0A [1-160] (74 | 85 | 86 | 87) [0-2] 52 }
        // STACK_GLOBAL form: 93 [MEMOIZE] ... TUPLE1 [MEMOIZE] REDUCE after an os/posix system import
        $sg_system   = { 8C (02 6F 73 | 05 70 6F 73 69 78) [0-8] 8C 06 73 79 73 74 65 6D [0-8] 93 [1-160] (74 | 85 | 86 | 87) [0-2] 52 }
    condition:
        any of them
}

// --- polyglots and embedded executables ---------------------------------------------------------

rule SecAI_Zip_In_Model : polyglot
{
    meta:
        description = "a zip archive (torch.save layout or any zip with its end record) inside a GGUF or safetensors file"
        severity = "high"
    strings:
        $lfh       = { 50 4B 03 04 (0A | 14 | 2D) 00 }
        $eocd      = { 50 4B 05 06 00 00 00 00 }
        $torch_pkl = { 50 4B 03 04 [26-300] 64 61 74 61 2E 70 6B 6C }   // local header … "data.pkl"
    condition:
        SecAI_Is_Model and ($torch_pkl or ($lfh and $eocd and @eocd[#eocd] > @lfh[1]))
}

rule SecAI_Embedded_ELF : executable
{
    meta:
        description = "ELF header (ident, zero padding, e_type EXEC/DYN/REL) anywhere in the file"
        severity = "high"
    strings:
        // 7F 'E' 'L' 'F' class data version=1 osabi abiversion, 7 zero pad bytes, e_type, 0
        $elf = { 7F 45 4C 46 (01 | 02) (01 | 02) 01 ?? ?? 00 00 00 00 00 00 00 (01 | 02 | 03) 00 }
    condition:
        $elf
}

rule SecAI_Embedded_PE : executable
{
    meta:
        description = "PE image: 'PE\\0\\0' + machine whose e_lfanew back-reference lands on an MZ header, or the DOS stub at its fixed place after MZ"
        severity = "high"
    strings:
        $pe  = { 50 45 00 00 (4C 01 | 64 86 | 64 AA | C4 01) }
        $dos = "This program cannot be run in DOS mode"
    condition:
        (for any i in (1..#dos) : (@dos[i] >= 0x4E and uint16(@dos[i] - 0x4E) == 0x5A4D)) or
        (for any i in (1..#pe) : (
            for any k in (0x40..0x400) : (
                @pe[i] >= k and uint16(@pe[i] - k) == 0x5A4D and uint32(@pe[i] - k + 0x3C) == k)))
}

rule SecAI_Embedded_MachO : executable
{
    meta:
        description = "64-bit Mach-O header (x86_64/arm64, EXECUTE/DYLIB/BUNDLE) or a universal binary header"
        severity = "high"
    strings:
        $macho64 = { CF FA ED FE (07 | 0C) 00 00 01 ?? ?? ?? (00 | 80) (02 | 06 | 08) 00 00 00 }
        $fat     = { CA FE BA BE 00 00 00 (01 | 02 | 03 | 04) 01 00 00 (07 | 0C) }
    condition:
        any of them
}

// --- shell payloads ------------------------------------------------------------------------------

rule SecAI_Reverse_Shell : shell critical
{
    meta:
        description = "reverse-shell one-liners (bash /dev/tcp, nc/ncat -e, socat exec, mkfifo relay, the Python socket+dup2 shell)"
        severity = "critical"
    strings:
        $devtcp  = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/
        $nc      = /\bn(c|cat)(\.exe)?\s+(-[A-Za-z]+\s+)*-[A-Za-z]*[ec]\s*\/bin\/(ba|z|da)?sh/
        $socat   = /socat\s[^\n]{0,200}exec:[^\n]{0,40}(ba|z|da)?sh/ nocase
        $mkfifo  = /mkfifo\s+\/tmp\/[^\s;]{1,64}\s*;[^\n]{0,200}\bnc\b/
        $py1     = "import socket"
        $py2     = "subprocess.Popen"
        $py3     = "os.dup2"
        $py4     = "/bin/sh"
        $pty     = /pty\.spawn\(\s*["']\/bin\/(ba)?sh/
    condition:
        $devtcp or $nc or $socat or $mkfifo or $pty or all of ($py*)
}

rule SecAI_Shell_Dropper_Command : shell
{
    meta:
        description = "download piped into a shell (curl/wget … | sh, or sh -c with a download)"
        severity = "high"
    strings:
        $pipe   = /\b(curl|wget)\s[^\n|]{1,300}\|\s*(sudo\s+)?(ba|z|da)?sh\b/ nocase
        $shc    = /\b(ba)?sh\s+-c\s+["']?[^\n]{0,40}\b(curl|wget)\s/ nocase
    condition:
        any of them
}

rule SecAI_Encoded_Powershell : shell
{
    meta:
        description = "PowerShell with an encoded command (-e/-enc/-EncodedCommand and a base64 argument)"
        severity = "high"
    strings:
        $ps = /powershell(\.exe)?\s+(-[A-Za-z]+\s+){0,6}-e(n|nc|nco|ncod|ncode|ncoded|ncodedc|ncodedco|ncodedcom|ncodedcomm|ncodedcomma|ncodedcomman|ncodedcommand)?\s+[A-Za-z0-9+\/=]{8,}/ nocase
    condition:
        $ps
}

// --- credentials ---------------------------------------------------------------------------------

rule SecAI_Credential_Harvesting : credentials
{
    meta:
        description = "paths of credential stores a payload would read"
        severity = "high"
    strings:
        $ssh_rsa     = ".ssh/id_rsa"
        $ssh_ed      = ".ssh/id_ed25519"
        $ssh_ecdsa   = ".ssh/id_ecdsa"
        $ssh_keys    = ".ssh/authorized_keys"
        $aws         = ".aws/credentials"
        $gcloud      = ".config/gcloud/credentials.db"
        $docker      = ".docker/config.json"
        $kube        = ".kube/config"
        $netrc       = /[~\/]\.netrc\b/
        $shadow      = "/etc/shadow"
        $hf          = ".cache/huggingface/token"
    condition:
        any of them
}

rule SecAI_Embedded_Private_Key : credentials
{
    meta:
        description = "PEM private key header"
        severity = "high"
    strings:
        $rsa  = "-----BEGIN RSA PRIVATE KEY-----"
        $ec   = "-----BEGIN EC PRIVATE KEY-----"
        $p8   = "-----BEGIN PRIVATE KEY-----"
        $enc  = "-----BEGIN ENCRYPTED PRIVATE KEY-----"
        $ossh = "-----BEGIN OPENSSH PRIVATE KEY-----"
    condition:
        any of them
}

// --- GGUF chat template backstop -----------------------------------------------------------------

rule SecAI_GGUF_Chat_Template_Injection : gguf template critical
{
    meta:
        description = "backstop for the format gate's template scan: Jinja sandbox-escape gadgets within 1 MB after a chat_template key of a GGUF file"
        severity = "critical"
    strings:
        $key      = "chat_template"
        $t_glob   = "__globals__"
        $t_sub    = "__subclasses__"
        $t_blt    = "__builtins__"
        $t_imp    = "__import__"
        $t_mro    = "__mro__"
        $t_attr   = /\|\s*attr\s*\(\s*["']_/
        $t_esc    = /\\x5f\\x5f/
        $t_os     = /\bos\.(system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(/
        $t_sub2   = /\bsubprocess\.(Popen|call|run|check_output)\b/
        $t_ctx    = "_TemplateReference__context"
    condition:
        SecAI_Is_GGUF and
        for any i in (1..#key) : (
            for any of ($t_*) : ($ in (@key[i] .. @key[i] + 1000064))
        )
}

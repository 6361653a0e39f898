// What a pickle may import, as data: the lists the scanner classifies every GLOBAL, INST and
// STACK_GLOBAL against (the rule that reads them is `classify.ts`). Audit here, not in code.
//
// A global is 'dangerous' when it can run code, import, reach attributes or touch files, sockets
// and processes; 'safe' when it only rebuilds plain data (the reconstructors torch.save and
// numpy pickles use); anything else is 'unknown' (suspicious: never trusted, never proof of
// harm).

/**
 * Modules whose every attribute is dangerous. Matched as the module itself or any sub-module:
 * `os` also covers `os.path`.
 */
export const DANGEROUS_MODULES: readonly string[] = [
  // processes, shells and the interpreter
  'os',
  'posix',
  'nt',
  'subprocess',
  'pty',
  'sys',
  'runpy',
  'importlib',
  'ctypes',
  'signal',
  'platform',
  'commands',
  'popen2',
  'multiprocessing',
  'asyncio',
  // code objects, compilers and debuggers
  'types',
  'code',
  'codeop',
  'pdb',
  'bdb',
  'timeit',
  'marshal',
  'linecache',
  'zipimport',
  'pkgutil',
  // attribute access and call gadgets
  'operator',
  '_operator',
  'functools',
  // nested deserialisers
  'pickle',
  '_pickle',
  'cPickle',
  'dill',
  'joblib',
  // network
  'socket',
  'webbrowser',
  'requests',
  'urllib',
  'urllib2',
  'urllib3',
  'http',
  'httplib',
  'httpx',
  'ftplib',
  'telnetlib',
  'smtplib',
  // files
  'shutil',
  'tempfile',
  'glob',
  'pathlib',
  'io',
  '_io',
  'fileinput',
  // installers and environments
  'pip',
  'setuptools',
  'distutils',
  'venv',
  'site',
  // library entry points that load code or files
  'numpy.testing',
  'torch.hub',
  'torch.jit',
  'torch.ops',
  'torch.classes',
  'torch.serialization',
];

/** The module names under which Python 2 and 3 expose the builtins. */
export const BUILTIN_MODULES: readonly string[] = ['builtins', '__builtin__', '__builtins__'];

/**
 * Builtins that execute code, import, touch files, read input or reach attributes and types.
 * Matched on the first part of a dotted name (`getattr.__call__` is `getattr`).
 */
export const DANGEROUS_BUILTINS: readonly string[] = [
  'eval',
  'exec',
  'execfile',
  'compile',
  '__import__',
  'getattr',
  'setattr',
  'delattr',
  'open',
  'file',
  'input',
  'raw_input',
  'breakpoint',
  'globals',
  'locals',
  'vars',
  'apply',
  'reload',
  'exit',
  'quit',
  'help',
  'memoryview',
  'type',
  'object',
  'super',
  'classmethod',
  'staticmethod',
  'property',
];

/** Builtins that only build plain values (matched on the whole name). */
export const SAFE_BUILTINS: readonly string[] = [
  'set',
  'frozenset',
  'bytearray',
  'bytes',
  'slice',
  'complex',
  'range',
  'dict',
  'list',
  'tuple',
  'int',
  'float',
  'bool',
  'str',
];

/**
 * Reconstructors of plain data, as `module.name` (matched exactly). A name with a dot or a
 * leading `__` is never safe, whatever this list says.
 */
export const SAFE_GLOBALS: readonly string[] = [
  // containers
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
  'collections.deque',
  'copy_reg._reconstructor',
  'copyreg._reconstructor',
  '_codecs.encode',
  // torch.save: tensors, parameters, storages and their metadata
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Size',
  'torch.device',
  'torch.dtype',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  // torch's typed storage classes
  'torch.FloatStorage',
  'torch.HalfStorage',
  'torch.BFloat16Storage',
  'torch.DoubleStorage',
  'torch.LongStorage',
  'torch.IntStorage',
  'torch.ShortStorage',
  'torch.CharStorage',
  'torch.ByteStorage',
  'torch.BoolStorage',
  'torch.ComplexFloatStorage',
  'torch.ComplexDoubleStorage',
  'torch.QUInt8Storage',
  'torch.QInt8Storage',
  'torch.QInt32Storage',
  'torch.QUInt4x2Storage',
  'torch.QUInt2x4Storage',
  'torch.UntypedStorage',
  // torch dtypes
  'torch.float16',
  'torch.float32',
  'torch.float64',
  'torch.bfloat16',
  'torch.half',
  'torch.double',
  'torch.int8',
  'torch.int16',
  'torch.int32',
  'torch.int64',
  'torch.uint8',
  'torch.uint16',
  'torch.uint32',
  'torch.uint64',
  'torch.bool',
  'torch.long',
  'torch.short',
  'torch.complex32',
  'torch.complex64',
  'torch.complex128',
  'torch.float8_e4m3fn',
  'torch.float8_e5m2',
  'torch.qint8',
  'torch.quint8',
  'torch.qint32',
  // numpy arrays and scalars
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy.int8',
  'numpy.int16',
  'numpy.int32',
  'numpy.int64',
  'numpy.uint8',
  'numpy.uint16',
  'numpy.uint32',
  'numpy.uint64',
  'numpy.float16',
  'numpy.float32',
  'numpy.float64',
  'numpy.complex64',
  'numpy.complex128',
  'numpy.bool',
  'numpy.bool_',
];

using System;
using System.Collections.Generic;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Safety
{
    /// <summary>How a global referenced by a pickle would fare in torch.load.</summary>
    public enum GlobalGrade
    {
        /// <summary>On torch's weights_only allow-list: torch.load(weights_only=True) accepts it.</summary>
        Allowed,
        /// <summary>Not allow-listed but not known to run code on load (user classes, omegaconf, Lightning, numpy).</summary>
        Unknown,
        /// <summary>Calls into code that can execute commands, read or write files, import or unpickle more.</summary>
        Dangerous,
    }

    /// <summary>
    /// Grades globals the way torch's weights_only unpickler would see them, plus a deny-list of globals that
    /// run code when a full unpickler calls them. One grading serves Get-CkptInfo and Test-Ckpt.
    /// </summary>
    public static class GlobalGrades
    {
        private static readonly HashSet<string> Allowed = new HashSet<string>(StringComparer.Ordinal)
        {
            "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
            "torch.Size", "torch.Tensor", "torch._tensor.Tensor", "torch.device", "_codecs.encode", "builtins.bytearray", "builtins.set",
            "builtins.complex", "torch._tensor._rebuild_from_type_v2", "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
            "torch.per_tensor_affine", "torch.per_tensor_symmetric", "torch.per_channel_affine", "torch.per_channel_symmetric",
            "torch.per_channel_affine_float_qparams",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
            "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
            "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
            "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
            "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr", "torch.sparse_bsc", "torch.strided",
        };

        // Whole modules whose every member is dangerous to call during unpickling.
        private static readonly string[] DangerousModules =
        {
            "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "runpy", "pty", "pdb", "pydoc", "ctypes", "commands",
            "webbrowser", "importlib", "imp", "pickle", "_pickle", "cPickle", "marshal", "dill", "cloudpickle", "joblib",
            "multiprocessing", "asyncio", "code", "codeop", "platform", "signal", "tempfile", "urllib", "http", "ftplib",
            "smtplib", "telnetlib", "requests", "httpx", "paramiko", "_posixsubprocess", "posixpath_exec", "numpy.f2py",
            "torch.hub", "torch.jit", "torch._dynamo", "torch._inductor", "torch.utils.cpp_extension", "_operator", "_io",
            "_thread", "threading", "_winapi", "winreg", "_winreg", "msvcrt", "zipimport", "pkgutil", "_imp",
        };

        private static readonly HashSet<string> DangerousNames = new HashSet<string>(StringComparer.Ordinal)
        {
            "builtins.eval", "builtins.exec", "builtins.compile", "builtins.getattr", "builtins.setattr", "builtins.delattr",
            "builtins.__import__", "builtins.open", "builtins.input", "builtins.breakpoint", "builtins.globals", "builtins.locals",
            "builtins.vars", "builtins.apply", "builtins.execfile", "builtins.file", "builtins.reload", "builtins.memoryview",
            "builtins.help", "builtins.exit", "builtins.quit",
            "functools.partial", "functools.reduce", "operator.attrgetter", "operator.itemgetter", "operator.methodcaller",
            "operator.call", "types.CodeType", "types.FunctionType", "types.MethodType", "_io.FileIO", "io.FileIO", "io.open",
            "_io.open", "codecs.open", "torch.load", "torch.serialization.load", "torch.save", "torch.serialization.save",
            "numpy.load", "numpy.save", "numpy.loadtxt", "numpy.fromfile", "numpy.lib.npyio.load", "numpy.testing._private.utils.runstring",
            "copyreg._reconstructor_unsafe", "copy_reg._reconstructor_unsafe", "timeit.timeit", "timeit.Timer",
            "code.InteractiveInterpreter", "site.main", "bdb.Bdb.run", "trace.Trace.run", "cProfile.run", "profile.run",
            "logging.config.listen", "uuid._get_command_stdout", "torch._C._jit_compile", "torch.classes.load_library",
            "torch.ops.load_library", "torch.utils.data.datapipes.utils.decoder.basichandlers", "gc.get_objects",
            "torch.storage._load_from_bytes", "torch._weights_only_unpickler.load", "torch.serialization._load",
            "torch._C._load_for_lite_interpreter", "torch._C.import_ir_module", "torch.utils.model_zoo.load_url",
            "numpy.ctypeslib.load_library", "numpy.lib.format.read_array", "numpy.memmap",
            "copyreg.__reduce_ex__", "inspect.getattr_static", "types.ModuleType",
            "operator.setitem", "operator.delitem", "operator.getitem", "functools.partialmethod",
            "functools.wraps", "functools.update_wrapper",
        };

        public static GlobalGrade Grade(PyGlobal g) => Grade(g.Module, g.Name);

        /// <summary>
        /// The grade of <paramref name="g"/> as this pickle uses it. functools.partial only binds arguments: building
        /// one runs nothing, so Hydra/Lightning's <c>functools.partial(torch.optim.Adam, lr=…)</c> in hyper-parameters
        /// is harmless. It is Dangerous when the pickle calls a partial object (which runs what it wraps) or a partial
        /// wraps a dangerous callable or one the pickle built (not a plain global). Every other global: <see cref="Grade(string, string)"/>.
        /// </summary>
        public static GlobalGrade Grade(PyGlobal g, GlobalsRecorder? use)
        {
            if (use == null || !PartialGrading.IsPartial(g)) return Grade(g);
            return PartialGrading.IsDangerous(use) ? GlobalGrade.Dangerous : GlobalGrade.Unknown;
        }

        private static class PartialGrading
        {
            public static bool IsPartial(PyGlobal g) => GlobalsRecorder.IsPartial(g);

            public static bool IsDangerous(GlobalsRecorder use)
            {
                if (use.PartialInvoked) return true;
                foreach (var p in use.Partials)
                {
                    // partial(func, *args) or, after BUILD, the state (func, args, kwds, dict)
                    var wrapped = p.State is PyTuple st && st.Count > 0 ? st[0] : p.Args.Count > 0 ? p.Args[0] : null;
                    if (p.Args.Count > 0 && !IsHarmless(p.Args[0])) return true;
                    if (!IsHarmless(wrapped)) return true;
                }
                return false;
            }

            private static bool IsHarmless(object? callable) => callable is PyGlobal g && Grade(g) != GlobalGrade.Dangerous;
        }

        public static GlobalGrade Grade(string module, string name)
        {
            var mod = module switch { "__builtin__" => "builtins", "copy_reg" => "copyreg", "torch.tensor" => "torch._tensor", _ => module };
            var full = mod + "." + name;
            if (DangerousNames.Contains(full)) return GlobalGrade.Dangerous;
            // a name can hide an attribute chain ("os.system" as name of "builtins", "system" via getattr):
            // torch resolves dotted names in find_class, so grade the dotted form too
            if (name.IndexOf('.') >= 0 && Grade(mod + "." + name.Substring(0, name.LastIndexOf('.')), name.Substring(name.LastIndexOf('.') + 1)) == GlobalGrade.Dangerous)
                return GlobalGrade.Dangerous;
            foreach (var m in DangerousModules)
                if (mod == m || mod.StartsWith(m + ".", StringComparison.Ordinal) || full == m) return GlobalGrade.Dangerous;
            if (Allowed.Contains(full)) return GlobalGrade.Allowed;
            if (mod == "torch" && (DType.FromName(name) != null || (name.EndsWith("Storage", StringComparison.Ordinal) && DType.FromStorageName(name) != null))) // torch.UntypedStorage: only its torch.storage spelling is allowed
                return GlobalGrade.Allowed;
            if (mod == "torch" && name.EndsWith("Tensor", StringComparison.Ordinal) && name.Length > 6) return GlobalGrade.Allowed; // torch.FloatTensor …
            // a global naming a builtin we do not know could be anything: treat unknown builtins as dangerous
            if (mod == "builtins" && !SafeBuiltins.Contains(name)) return GlobalGrade.Dangerous;
            return GlobalGrade.Unknown;
        }

        /// <summary>
        /// The grade of a global in the pickle that uses it. builtins.getattr alone would run any attribute lookup, but
        /// a pickle whose every getattr call reads a constant, non-dunder attribute of a global that is not dangerous
        /// itself — and never calls the result — only looks up enum members (DCP's MEM_FORMAT_ENCODING, DeepSpeed's
        /// ZeroStageEnum, as Python 3.11+ pickles them): that getattr is Unknown, not Dangerous. Any other use stays Dangerous.
        /// </summary>
        public static GlobalGrade Grade(PyGlobal g, IReadOnlyList<AttributeLookup> lookups)
        {
            var grade = Grade(g);
            if (grade != GlobalGrade.Dangerous || g.Name != "getattr" || (g.Module != "builtins" && g.Module != "__builtin__") || lookups.Count == 0) return grade;
            foreach (var l in lookups) if (!IsConstantLookup(l)) return GlobalGrade.Dangerous;
            return GlobalGrade.Unknown;
        }

        /// <summary>getattr(global, 'NAME') with a non-dunder constant name on a global that is not dangerous.</summary>
        public static bool IsConstantLookup(AttributeLookup l) =>
            l.Target != null && !string.IsNullOrEmpty(l.Attribute) && !l.Attribute!.StartsWith("__", StringComparison.Ordinal)
            && l.Attribute.IndexOf('.') < 0 && Grade(l.Target) != GlobalGrade.Dangerous
            && Grade(l.Target.Module, l.Target.Name + "." + l.Attribute) != GlobalGrade.Dangerous;

        private static readonly HashSet<string> SafeBuiltins = new HashSet<string>(StringComparer.Ordinal)
        {
            "set", "frozenset", "bytearray", "bytes", "complex", "dict", "list", "tuple", "int", "float", "str", "bool",
            "slice", "range", "object", "type", "NoneType", "Ellipsis", "NotImplemented", "print", "len", "min", "max",
            "abs", "round", "sum", "sorted", "reversed", "enumerate", "zip", "map", "filter", "iter", "next", "repr", "hash",
            "isinstance", "issubclass", "property", "staticmethod", "classmethod", "super", "Exception", "ValueError",
            "TypeError", "KeyError", "IndexError", "RuntimeError", "AttributeError", "StopIteration",
            "long", "unicode", "basestring", "xrange", "NotImplementedType", "ellipsis", "any", "all", "divmod", "pow",
        };
    }
}

using System;
using System.Collections.Generic;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Safety
{
    /// <summary>How a global referenced by a pickle would fare in torch.load, from harmless to harmful.</summary>
    public enum GlobalGrade
    {
        /// <summary>On torch 2.x's weights_only allow-list (or one it extends when a module is imported): torch.load(weights_only=True) accepts it.</summary>
        Allowed,
        /// <summary>Not allow-listed, but inert as the pickle uses it: merely named (a class instantiated without __init__, a value) or a constructor known to build plain data.</summary>
        Unknown,
        /// <summary>Called by the pickle (directly or through a function that calls its argument) and not known to be inert: torch.load(weights_only=False) would run its code.</summary>
        Suspicious,
        /// <summary>Known to run commands, read or write files, import or unpickle more, or reached through an attribute path that does.</summary>
        Dangerous,
    }

    /// <summary>
    /// Grades globals by what is known to be inert rather than by what is known to be harmful: torch 2.x's weights_only
    /// allow-list and classes known to be plain data are fine, any other callable the pickle calls is Suspicious, and
    /// a deny-list names what is Dangerous. Globals are graded as Python's unpickler would find them
    /// (<see cref="FindClassPath"/>). One grading serves Get-CkptInfo and Test-Ckpt.
    /// </summary>
    public static class GlobalGrades
    {
        // Whole modules whose every member is dangerous to call during unpickling.
        private static readonly string[] DangerousModules =
        {
            "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "runpy", "pty", "pdb", "pydoc", "ctypes", "commands",
            "webbrowser", "importlib", "imp", "pickle", "_pickle", "cPickle", "marshal", "dill", "cloudpickle", "joblib",
            "multiprocessing", "asyncio", "code", "codeop", "platform", "signal", "tempfile", "urllib", "http", "ftplib",
            "smtplib", "telnetlib", "requests", "httpx", "paramiko", "_posixsubprocess", "posixpath_exec", "numpy.f2py",
            "torch.hub", "torch.jit", "torch._dynamo", "torch._inductor", "torch.utils.cpp_extension", "_operator", "_io",
            "_thread", "threading", "_winapi", "winreg", "_winreg", "msvcrt", "zipimport", "pkgutil", "_imp",
            "cProfile", "profile", "trace", "bdb", "timeit", "sqlite3", "_sqlite3", "dbm", "shelve", "io",
            "torch.utils.collect_env", "torch.fx", "torch.package", "torch.utils.benchmark", "torch._export", "torch.export",
            "torch.onnx", "torch.compiler", "torch._functorch", "torch.distributed.rpc", "torch.distributed.elastic", "torch.testing",
            "tarfile", "zipfile", "glob", "fileinput", "mailbox", "logging.config", "logging.handlers", "ensurepip", "venv", "distutils", "setuptools",
            "_ctypes", "mmap", "select", "selectors", "ssl", "xmlrpc", "socketserver", "wsgiref", "smtpd", "nntplib", "poplib", "imaplib",
        };

        private static readonly HashSet<string> DangerousNames = new HashSet<string>(StringComparer.Ordinal)
        {
            "builtins.eval", "builtins.exec", "builtins.compile", "builtins.getattr", "builtins.setattr", "builtins.delattr",
            "builtins.__import__", "builtins.open", "builtins.input", "builtins.breakpoint", "builtins.globals", "builtins.locals",
            "builtins.vars", "builtins.apply", "builtins.execfile", "builtins.file", "builtins.reload", "builtins.memoryview",
            "builtins.help", "builtins.exit", "builtins.quit",
            "functools.partial", "functools.reduce", "operator.attrgetter", "operator.itemgetter", "operator.methodcaller",
            "operator.call", "types.CodeType", "types.FunctionType", "types.MethodType", "codecs.open",
            "torch.load", "torch.serialization.load", "torch.save", "torch.serialization.save",
            "numpy.load", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.loadtxt", "numpy.genfromtxt",
            "numpy.fromfile", "numpy.lib.npyio.load", "numpy.testing._private.utils.runstring", "numpy.ndarray.tofile", "numpy.ndarray.dump",
            "copyreg._reconstructor_unsafe", "copy_reg._reconstructor_unsafe",
            "site.main", "uuid._get_command_stdout", "torch._C._jit_compile", "torch.classes.load_library",
            "torch.ops.load_library", "torch.utils.data.datapipes.utils.decoder.basichandlers", "gc.get_objects",
            "torch.storage._load_from_bytes", "torch._weights_only_unpickler.load", "torch.serialization._load",
            "torch._C._load_for_lite_interpreter", "torch._C.import_ir_module", "torch.utils.model_zoo.load_url",
            "numpy.ctypeslib.load_library", "numpy.lib.format.read_array", "numpy.lib.format.open_memmap", "numpy.memmap",
            "copyreg.__reduce_ex__", "inspect.getattr_static", "types.ModuleType",
            "operator.setitem", "operator.delitem", "operator.getitem", "functools.partialmethod",
            "functools.wraps", "functools.update_wrapper", "pathlib.Path.touch", "pathlib.Path.write_text", "pathlib.Path.write_bytes",
            "pathlib.Path.unlink", "pathlib.Path.rmdir", "pathlib.Path.mkdir", "pathlib.Path.open", "pathlib.Path.rename",
            "pathlib.Path.replace", "pathlib.Path.read_text", "pathlib.Path.read_bytes", "pathlib.Path.symlink_to", "pathlib.Path.chmod",
            "torch.fx.graph_module.reduce_graph_module", "torch.fx.graph_module.reduce_package_graph_module",
            "logging.FileHandler", "logging.basicConfig", "logging.StreamHandler", "code.InteractiveInterpreter",
        };

        /// <summary>
        /// Callables outside the allow-list known to build plain data from their arguments and run nothing else
        /// (functions that call an argument are inert only for inert arguments: <see cref="ArgumentCalls"/>).
        /// </summary>
        private static readonly HashSet<string> InertWhenCalled = new HashSet<string>(StringComparer.Ordinal)
        {
            "builtins.dict", "builtins.list", "builtins.tuple", "builtins.frozenset", "builtins.bytes", "builtins.int", "builtins.float",
            "builtins.str", "builtins.bool", "builtins.slice", "builtins.range", "builtins.object", "builtins.bytearray", "builtins.complex",
            "builtins.set", "builtins.map", "builtins.filter", "builtins.zip", "builtins.enumerate", "builtins.reversed",
            "collections.defaultdict", "collections.deque", "collections.OrderedDict", "collections.Counter",
            "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__", "copyreg._reconstructor",
            "argparse.Namespace", "types.SimpleNamespace", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
            "datetime.timezone", "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "re._compile", "enum.Enum", "enum.IntEnum", "typing.Any",
            "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "numpy._core.multiarray._reconstruct",
            "numpy._core.multiarray.scalar", "numpy.dtype", "numpy.ndarray", "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
            "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor", "numpy.random._pickle.__generator_ctor",
            "numpy.random._pickle.__mt19937_ctor",
            "torch._utils._rebuild_tensor", "torch.storage._load_from_bytes_unused", "torch.serialization.StorageType",
            "omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig", "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata",
            "omegaconf.nodes.AnyNode", "omegaconf.nodes.StringNode", "omegaconf.nodes.IntegerNode", "omegaconf.nodes.FloatNode",
            "omegaconf.nodes.BooleanNode", "omegaconf.nodes.EnumNode", "omegaconf.nodes.BytesNode", "omegaconf.nodes.PathNode",
            "lightning.fabric.utilities.data.AttributeDict", "lightning_fabric.utilities.data.AttributeDict",
            "lightning.pytorch.utilities.parsing.AttributeDict", "pytorch_lightning.utilities.parsing.AttributeDict",
            "torch.distributed.checkpoint.metadata.MetadataIndex", "torch.distributed.checkpoint.metadata.ChunkStorageMetadata",
            "torch.distributed.checkpoint.metadata.TensorStorageMetadata", "torch.distributed.checkpoint.metadata.BytesStorageMetadata",
            "torch.distributed.checkpoint.metadata.TensorProperties", "torch.distributed.checkpoint.metadata.Metadata",
            "torch.distributed.checkpoint.metadata._MEM_FORMAT_ENCODING", "torch.distributed.checkpoint.filesystem._StorageInfo",
            "torch.distributed.checkpoint.planner.WriteItemType", "torch.distributed.checkpoint.planner.LoadItemType",
            "torch.distributed.checkpoint._version", "torch.distributed.checkpoint.metadata.StorageMeta",
        };

        /// <summary>Modules of the libraries checkpoints come from whose classes called as Cls(value) are enums: a member lookup.</summary>
        private static readonly string[] InertEnumModules =
        {
            "transformers.trainer_utils.", "transformers.training_args.", "transformers.utils.generic.", "transformers.debug_utils.",
            "accelerate.utils.dataclasses.", "pyannote.audio.core.task.", "enum.", "torch.distributed.fsdp.",
            "lightning.pytorch.callbacks.", "pytorch_lightning.callbacks.",
            "lightning.pytorch.trainer.states.", "pytorch_lightning.trainer.states.", "lightning.fabric.utilities.enums.",
            "lightning.pytorch.utilities.enums.", "pytorch_lightning.utilities.enums.", "lightning_fabric.utilities.enums.",
            "deepspeed.runtime.zero.config.", "deepspeed.utils.zero_to_fp32.", "torch.distributed.checkpoint.metadata.",
            "torch.distributed.fsdp.api.", "torch.distributed.fsdp.fully_sharded_data_parallel.", "torch.optim.lr_scheduler.",
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

        /// <summary>
        /// The grade of a global as the pickles recorded by <paramref name="recorder"/> use it, with the reason: every
        /// path Python could look it up as, whether it is called, getattr by its lookups, partial by what it wraps.
        /// </summary>
        public static GlobalGrade Grade(PyGlobal g, GlobalsRecorder recorder, out string reason)
        {
            reason = "";
            var use = recorder.UseOf(g);
            if (PartialGrading.IsPartial(g))
            {
                var pg = Grade(g, recorder);
                reason = pg == GlobalGrade.Dangerous ? "a functools.partial that is called or wraps a dangerous or built callable" : "a functools.partial of a plain global, never called";
                return pg;
            }
            var targets = use?.Targets ?? (IReadOnlyList<PyGlobal>)new[] { g };
            var worst = GlobalGrade.Allowed;
            PyGlobal? worstTarget = null;
            foreach (var t in targets)
            {
                // getattr is graded by its lookups (constant enum-member reads are inert calls)
                bool getattr = t.Name == "getattr" && t.Module == "builtins";
                var grade = getattr ? Grade(t, recorder.AttributeLookups) : Grade(t.Module, t.Name);
                if (grade == GlobalGrade.Unknown && use != null && use.IsCalled && !getattr && !IsInertWhenCalled(t, use)) grade = GlobalGrade.Suspicious;
                if (worstTarget == null || grade > worst) { worst = grade; worstTarget = t; }
            }
            var via = worstTarget != null && !worstTarget.Equals(g) ? $" (Python's unpickler looks it up as {worstTarget.FullName})" : "";
            var asWhat = via.Length == 0 ? "" : via.Substring(2, via.Length - 3) + ", ";
            reason = worst switch
            {
                GlobalGrade.Dangerous => "it can run code or touch files" + via,
                GlobalGrade.Suspicious => $"it is {use!.CallReason} and not known to be inert{via}",
                GlobalGrade.Unknown => asWhat + (use != null && use.IsCalled ? "a constructor known to build plain data" : "named, never called"),
                _ => asWhat + "on torch's weights_only allow-list",
            };
            return worst;
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

        /// <summary>
        /// The grade of a name alone, as Python 3 finds it (module, possibly dotted attribute path): Allowed, Unknown or
        /// Dangerous. Whether the pickle calls it decides Unknown against Suspicious (<see cref="Grade(PyGlobal, GlobalsRecorder, out string)"/>).
        /// </summary>
        public static GlobalGrade Grade(string module, string name)
        {
            var mod = module switch { "__builtin__" => "builtins", "copy_reg" => "copyreg", "torch.tensor" => "torch._tensor", _ => module };
            var full = mod + "." + name;
            // torch's own list first: a conditional global (NJT's torch._dynamo.decorators._DimRange) is not dangerous
            if (IsAllowListed(full)) return GlobalGrade.Allowed;
            if (IsDangerousPath(full)) return GlobalGrade.Dangerous;
            // an attribute path reaches whatever its modules import: grade each tail as a name of its own
            // (('pathlib', 'os.system') is os.system, ('torch.utils.collect_env', 'subprocess.getoutput') subprocess.getoutput)
            var parts = FindClassPath.AttributePath(name);
            for (int i = 0; i < parts.Length - 1; i++)
            {
                var tail = string.Join(".", parts, i, parts.Length - i);
                if (IsDangerousPath(tail) || IsDangerousPath("builtins." + tail)) return GlobalGrade.Dangerous;
            }
            if (mod == "torch" && name.EndsWith("Storage", StringComparison.Ordinal) && (DType.FromStorageName(name) != null || name == "UntypedStorage" || name == "TypedStorage"))
                return GlobalGrade.Unknown; // torch's unpickler maps any *Storage name to a StorageType; weights_only wants torch.storage.UntypedStorage
            // a global naming a builtin we do not know could be anything: treat unknown builtins as dangerous
            if (mod == "builtins" && !SafeBuiltins.Contains(name)) return GlobalGrade.Dangerous;
            return GlobalGrade.Unknown;
        }

        private static bool IsDangerousPath(string full)
        {
            if (DangerousNames.Contains(full)) return true;
            foreach (var m in DangerousModules)
                if (full.StartsWith(m, StringComparison.Ordinal) && (full.Length == m.Length || full[m.Length] == '.')) return true;
            return false;
        }

        /// <summary>On torch 2.x's weights_only allow-list, by default or once a module registers it (NJT, DTensor), or on torch 1.13's.</summary>
        public static bool IsAllowListed(string full) =>
            SafetyTables.NewAllowed.Contains(full) || SafetyTables.Conditional.ContainsKey(full) || SafetyTables.OldAllowed.Contains(full);

        private static bool IsInertWhenCalled(PyGlobal t, GlobalUse use)
        {
            var full = t.FullName;
            if (IsAllowListed(full) || InertWhenCalled.Contains(full)) return true;
            if (t.Module == "pathlib" || t.Module == "pathlib._local") return t.Name.IndexOf('.') < 0 && t.Name.IndexOf("Path", StringComparison.Ordinal) >= 0;
            if (t.Module == "torch" && DType.FromName(t.Name) != null) return true;
            if (t.Name.IndexOf('.') >= 0) return false;
            // an enum class of a known library, called only as Cls(value): a member lookup
            if (!use.OnlyLooksUpMembers || t.Name.Length == 0 || !char.IsUpper(t.Name[0])) return false;
            foreach (var prefix in InertEnumModules)
                if (full.StartsWith(prefix, StringComparison.Ordinal)) return true;
            return false;
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

        /// <summary>
        /// Which torch versions' torch.load(weights_only=True) refuse a file naming these globals (their find_class paths),
        /// or null when both accept it; conditional globals name the import torch 2.x needs first.
        /// </summary>
        public static string? WeightsOnlyRefusal(IEnumerable<PyGlobal> targets, string what = "it")
        {
            bool oldRefuses = false, newRefuses = false;
            var needs = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var t in targets)
            {
                var full = t.FullName;
                if (!SafetyTables.OldAllowed.Contains(full)) oldRefuses = true;
                if (SafetyTables.Conditional.TryGetValue(full, out var module)) needs.Add(module);
                else if (!SafetyTables.NewAllowed.Contains(full)) newRefuses = true;
            }
            if (!oldRefuses && !newRefuses && needs.Count == 0) return null;
            var newText = newRefuses ? $"torch {SafetyTables.NewTorch} refuses {what}{(oldRefuses ? " too" : "")}"
                : needs.Count > 0 ? $"torch {SafetyTables.NewTorch} accepts {what} only after `import {string.Join("`, `import ", needs)}`"
                : $"torch {SafetyTables.NewTorch} accepts {what}";
            return oldRefuses ? $"torch.load(weights_only=True) refuses {what} in torch {SafetyTables.OldTorch}; {newText}"
                : $"torch {SafetyTables.OldTorch}'s torch.load(weights_only=True) accepts {what}; {newText}";
        }

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

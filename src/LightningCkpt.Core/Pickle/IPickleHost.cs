using System;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// Gives meaning to the operations of a pickle that would run code in Python. Implementations build data,
    /// never execute anything; unknown names become inert <see cref="PyObject"/>s.
    /// </summary>
    public interface IPickleHost
    {
        /// <summary>GLOBAL, STACK_GLOBAL, INST: the object a module/name pair stands for.</summary>
        object? ResolveGlobal(string module, string name);

        /// <summary>PERSID / BINPERSID.</summary>
        object? PersistentLoad(object? pid);

        /// <summary>REDUCE: callable(*args).</summary>
        object? Call(object? callable, PyTuple args);

        /// <summary>NEWOBJ, NEWOBJ_EX, INST, OBJ: cls.__new__(cls, *args, **kwargs).</summary>
        object? NewObject(object? cls, PyTuple args, PyDict? kwargs);

        /// <summary>BUILD: returns what stands on the stack afterwards (usually <paramref name="target"/>).</summary>
        object? Build(object? target, object? state);
    }

    /// <summary>Thrown by hosts and the machine for semantic problems; turned into a located <see cref="CheckpointFormatException"/>.</summary>
    public sealed class PickleDataException : Exception
    {
        public PickleDataException(string reason, CheckpointErrorKind kind = CheckpointErrorKind.Malformed, CheckpointDefect defect = CheckpointDefect.None)
            : base(reason)
        {
            Kind = kind;
            Defect = defect;
        }

        public PickleDataException(string reason, CheckpointDefect defect) : this(reason, CheckpointErrorKind.Malformed, defect) { }

        public CheckpointErrorKind Kind { get; }
        public CheckpointDefect Defect { get; }
    }
}

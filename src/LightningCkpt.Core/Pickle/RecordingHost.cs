namespace LightningCkpt.Pickle
{
    /// <summary>
    /// Wraps a host and records, for every value it turns into something other than an inert object or a plain
    /// container, the call that made it (<see cref="Construction"/>). Used only when a caller asks for it
    /// (Import-Ckpt), so ordinary reads pay nothing.
    /// </summary>
    internal sealed class RecordingHost : IPickleHost
    {
        private readonly IPickleHost _inner;

        public RecordingHost(IPickleHost inner) => _inner = inner;

        public object? ResolveGlobal(string module, string name) => _inner.ResolveGlobal(module, name);

        public object? PersistentLoad(object? pid) => _inner.PersistentLoad(pid);

        public object? Call(object? callable, PyTuple args) => Remember(_inner.Call(callable, args), callable, args, null, false);

        public object? NewObject(object? cls, PyTuple args, PyDict? kwargs) => Remember(_inner.NewObject(cls, args, kwargs), cls, args, kwargs, true);

        public object? Build(object? target, object? state)
        {
            Construction.Of(target)?.AddState(state);
            return _inner.Build(target, state);
        }

        private static object? Remember(object? value, object? callable, PyTuple args, PyDict? kwargs, bool viaNewObject)
        {
            if (NeedsRecord(value)) Construction.Remember(value!, new Construction(callable, args, kwargs, viaNewObject));
            return value;
        }

        // Inert objects carry their own construction. Everything else a call made is recorded: numpy arrays and
        // scalars (boxed numbers), torch.Size, tensors, paths, and the class and arguments of dicts and lists.
        private static bool NeedsRecord(object? v) => v switch
        {
            null => false,
            PyTuple t when ReferenceEquals(t, PyTuple.Empty) => false, // a shared singleton: torch.Size(()) must not mark every ()
            PyObject or PySet => false,
            _ => true,
        };
    }
}

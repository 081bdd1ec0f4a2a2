using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// An instance of a class we give no meaning to (a user class, a Lightning or omegaconf object, an
    /// nn.Module …). It is inert data: the class name, the constructor arguments, the state BUILD gave it and
    /// any items appended or set on it. Nothing is lost and nothing runs.
    /// </summary>
    public sealed class PyObject
    {
        public PyObject(object? callable, PyTuple args, PyDict? kwargs = null)
        {
            Callable = callable;
            Args = args;
            Kwargs = kwargs;
        }

        /// <summary>What was called to make it: usually a <see cref="PyGlobal"/>.</summary>
        public object? Callable { get; }

        /// <summary>The class (or function) name when <see cref="Callable"/> is a global.</summary>
        public PyGlobal? Class => Callable as PyGlobal;

        public PyTuple Args { get; }

        /// <summary>True when it was made by cls.__new__(cls, *args) (NEWOBJ, copyreg.__newobj__), not by calling it.</summary>
        public bool ViaNewObject { get; set; }
        public PyDict? Kwargs { get; }

        /// <summary>The BUILD state: usually the instance __dict__ (a <see cref="PyDict"/>), or (dict, slots).</summary>
        public object? State { get; set; }

        /// <summary>Items appended to it (list subclasses).</summary>
        public PyList? ListItems { get; set; }

        /// <summary>Items set on it (dict subclasses).</summary>
        public PyDict? DictItems { get; set; }

        /// <summary>
        /// The instance fields: the state dict, or both halves of a (dict, slots) state. Empty when the state is
        /// something else.
        /// </summary>
        public IEnumerable<KeyValuePair<object?, object?>> Fields
        {
            get
            {
                if (State is PyDict d)
                {
                    foreach (var e in d) yield return e;
                }
                else if (IsDictAndSlots && State is PyTuple t)
                {
                    if (t[0] is PyDict a) foreach (var e in a) yield return e;
                    if (t[1] is PyDict b) foreach (var e in b) yield return e;
                }
            }
        }

        /// <summary>True when <see cref="State"/> is not a dict or (dict, slots) pair.</summary>
        public bool HasOpaqueState => State != null && State is not PyDict && !IsDictAndSlots;

        /// <summary>Python's (dict or None, slots dict or None) state of classes with __slots__.</summary>
        private bool IsDictAndSlots =>
            State is PyTuple t && t.Count == 2 && (t[0] is PyDict || t[0] is null) && (t[1] is PyDict || t[1] is null);

        public override string ToString() => PyRepr.Render(this);
    }
}

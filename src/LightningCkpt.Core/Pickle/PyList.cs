using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>A Python list (or a list-like such as collections.deque, named by <see cref="PythonType"/>).</summary>
    public sealed class PyList : List<object?>
    {
        public PyList() { }
        public PyList(IEnumerable<object?> items) : base(items) { }

        /// <summary>The Python type when it is not a plain list (e.g. collections.deque).</summary>
        public PyGlobal? PythonType { get; set; }

        public override string ToString() => PyRepr.Render(this);
    }
}

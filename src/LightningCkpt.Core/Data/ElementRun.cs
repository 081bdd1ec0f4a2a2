namespace LightningCkpt.Data
{
    /// <summary>
    /// Element i of a run, as double. The struct implementations let one generic loop serve float32 and float64:
    /// the JIT compiles a specialised copy per struct, so the indirection costs nothing.
    /// </summary>
    internal interface IElementRun
    {
        double this[int i] { get; }
    }

    internal readonly unsafe struct FloatRun : IElementRun
    {
        private readonly float* _p;
        public FloatRun(float* p) => _p = p;
        public double this[int i] => _p[i];
    }

    internal readonly unsafe struct DoubleRun : IElementRun
    {
        private readonly double* _p;
        public DoubleRun(double* p) => _p = p;
        public double this[int i] => _p[i];
    }
}

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// One method's arithmetic on one tensor, over blocks of aligned elements decoded to float64: x[0..n) are the
    /// model inputs, x[n] the base (base methods). The driver first streams the tensor through <see cref="Reduce"/>
    /// for as long as <see cref="NeedsPass"/> says (SLERP's angle, TIES' top-k thresholds), then once through
    /// <see cref="Combine"/> in row-major order, whose results it casts back to the tensor's dtype.
    /// </summary>
    internal abstract unsafe class MergeStrategy
    {
        public virtual bool NeedsPass(int pass) => false;

        public virtual void Reduce(int pass, long start, int count, double*[] x) { }

        public virtual void EndPass(int pass) { }

        public abstract void Combine(long start, int count, double*[] x, double* result);
    }
}

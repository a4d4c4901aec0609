using TensorServe.Tensors;

namespace TensorServe.Tests.Tensors;

public class TensorBuilderTests
{
    [Fact]
    public void Build_NumericValues_TensorHoldsValuesInOrder()
    {
        using var builder = new TensorBuilder(DataType.Float, capacityBytes: 16);
        for (var i = 0; i < 100; i++)
        {
            builder.Append((float)i * 0.5f);
        }
        using var tensor = builder.Build([10, 10]);
        Assert.Equal(100, tensor.ElementCount);
        Assert.Equal(400, tensor.Bytes.Length);
        Assert.Equal(49.5f, tensor.AsSpan<float>()[99]);
        Assert.Equal(0, builder.Count);
    }

    [Fact]
    public void Build_Strings_ElementsRoundTrip()
    {
        using var builder = new TensorBuilder(DataType.String);
        var values = Enumerable.Range(0, 40).Select(i => new string('x', i)).ToArray();
        foreach (var v in values)
        {
            builder.AppendString(System.Text.Encoding.UTF8.GetBytes(v));
        }
        using var tensor = builder.Build([40]);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], System.Text.Encoding.UTF8.GetString(tensor.GetString(i)));
        }
        Assert.Equal(values.Sum(v => v.Length), tensor.StringBytesLength);
    }

    [Fact]
    public void Build_ShapeDisagreesWithCount_Throws()
    {
        using var builder = new TensorBuilder(DataType.Int32);
        builder.Append(1);
        builder.Append(2);
        Assert.Throws<InvalidOperationException>(() => builder.Build([3]));
    }

    [Fact]
    public void ElementCount_NegativeOrOverflowingDims_IsMinusOne()
    {
        Assert.Equal(-1, TensorShape.ElementCount([2, -1]));
        Assert.Equal(-1, TensorShape.ElementCount([1L << 40, 1L << 40]));
        Assert.Equal(0, TensorShape.ElementCount([1L << 40, 1L << 40, 0]));
        Assert.Equal(6, TensorShape.ElementCount([2, 3]));
        Assert.Equal(1, TensorShape.ElementCount([]));
    }
}

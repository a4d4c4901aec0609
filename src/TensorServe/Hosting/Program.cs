namespace TensorServe.Hosting;

public static class Program
{
    public static int Main(string[] args)
    {
        return 0;
    }
}

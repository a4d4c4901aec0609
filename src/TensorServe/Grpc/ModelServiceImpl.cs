using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using TensorServe.Models;
using Tensorflow.Serving;
using ProtoVersionStatus = Tensorflow.Serving.ModelVersionStatus;

namespace TensorServe.Grpc;

/// <summary>
/// <c>tensorflow.serving.ModelService</c>: GetModelStatus (spec §2.1, §3.6). HandleReloadConfigRequest is not in this
/// slice and answers UNIMPLEMENTED.
/// </summary>
internal sealed class ModelServiceImpl(ModelManager manager, ILogger<ModelServiceImpl> logger) : ModelService.ModelServiceBase
{
    public override Task<GetModelStatusResponse> GetModelStatus(GetModelStatusRequest request, ServerCallContext context)
    {
        try
        {
            return Task.FromResult(GetModelStatus(request));
        }
        catch (Exception ex)
        {
            return Task.FromException<GetModelStatusResponse>(GrpcErrors.ToRpcException(ex, context, logger));
        }
    }

    public override Task<ReloadConfigResponse> HandleReloadConfigRequest(ReloadConfigRequest request, ServerCallContext context) =>
        Task.FromException<ReloadConfigResponse>(GrpcErrors.ToRpcException(
            ServingException.Unimplemented("HandleReloadConfigRequest is not supported yet by TensorServe"), context, logger));

    private GetModelStatusResponse GetModelStatus(GetModelStatusRequest request)
    {
        var spec = request.ModelSpec ?? throw ServingException.InvalidArgument("Missing ModelSpec");
        // Only the version is used: labels and signature_name are ignored, as in TF Serving's GetModelStatusImpl.
        long? version = spec.VersionChoiceCase == ModelSpec.VersionChoiceOneofCase.Version ? spec.Version : null;
        if (string.IsNullOrEmpty(spec.Name))
        {
            // TF Serving does not check the name here: the state monitor simply knows no model "".
            throw ServingException.NotFound(version is { } v
                ? $"Could not find version {v.ToString(CultureInfo.InvariantCulture)} of model "
                : "Could not find any versions of model ");
        }

        var response = new GetModelStatusResponse();
        foreach (var row in manager.GetStatus(spec.Name, version))
        {
            response.ModelVersionStatus.Add(new ProtoVersionStatus
            {
                Version = row.Version,
                State = (ProtoVersionStatus.Types.State)(int)row.State,
                Status = new StatusProto
                {
                    ErrorCode = (Tensorflow.Error.Code)(int)row.ErrorCode,
                    ErrorMessage = row.ErrorMessage,
                },
            });
        }
        return response;
    }
}

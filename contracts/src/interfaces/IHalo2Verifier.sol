// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IHalo2Verifier
/// @notice The entry point of the `Halo2Verifier` contract that ezkl generates for one model
///         (`ezkl.create_evm_verifier`): a KZG/BN254 verifier for that model's circuit, with the
///         verifying key baked into its bytecode.
interface IHalo2Verifier {
    /// @notice Checks a proof of the model's inference against its public instances.
    /// @dev The generated code reverts with empty data on a bad proof (it never returns normally
    ///      with `false`); callers must treat a revert, a `false` and malformed return data alike.
    ///      The function is not declared `view` by ezkl, although it writes no storage.
    /// @param proof The proof bytes (`hex_proof` in ezkl's proof.json).
    /// @param instances The public instances in circuit order: for zkrisk, the model's outputs,
    ///        each a BN254 field element.
    /// @return True when the proof verifies.
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool);
}

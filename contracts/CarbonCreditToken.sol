// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Supply} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Supply.sol";

/**
 * @title IAnchoredRoots
 * @notice The part of `AnchorRegistry` that {CarbonCreditToken} reads: the Merkle root anchored
 * for exactly `treeSize` events of the ledger's log (reverts if there is none).
 */
interface IAnchoredRoots {
    /**
     * @notice Returns the root anchored for exactly `treeSize` events; reverts if none is.
     * @param treeSize The tree size of the checkpoint.
     * @return root The anchored Merkle root.
     */
    function rootOf(uint64 treeSize) external view returns (bytes32 root);
}

/**
 * @title CarbonCreditToken
 * @notice Real-world-asset tokens of carbon-ledger credit batches: one ERC-1155 token id per
 * credit batch, 18 decimals, 1 token = 1 t CO2e, so 1 g CO2e = 10**12 token units.
 *
 * @dev Tokens are only ever minted against a lock of the off-chain ledger that is PROVEN on chain:
 *
 * 1. A holder locks credits in the ledger. The ledger records the event
 *    `ledger.domain.credit_batch:CreditBatch.LockedForTokens`, whose JSON state carries a
 *    "bridge message": the field `"bridge_message":"<hex>"`, where `<hex>` is 384 lower-case hex
 *    digits of `abi.encode(uint256 chainId, address token, bytes16 batchId, bytes16 lockId,
 *    address recipient, uint256 amount)` (`amount` in token units).
 * 2. The ledger's event log is an RFC 9162 Merkle tree whose roots are anchored in the
 *    `AnchorRegistry` at {registry}.
 * 3. {mint} takes the event's canonical leaf bytes (format `carbon-ledger/event-leaf/v1`), its
 *    leaf index and RFC 9162 inclusion proof against the root anchored for `treeSize`, and the
 *    offset of the bridge message in the event state. It reads the root from the registry,
 *    verifies the proof with the SHA-256 precompile, parses the leaf, checks that the event is a
 *    `LockedForTokens` event of a registered batch whose message names this chain and this
 *    contract, and mints the message's `amount` of the batch's token to the message's
 *    `recipient`. The caller chooses neither: both come from the proven event. A lock is minted at
 *    most once ({isLockMinted}).
 *
 * Tokens leave the chain by burning whole grams only (amounts that are multiples of
 * {UNITS_PER_GRAM}), so the total supply of every id is always a whole number of grams:
 *
 * - {redeem} burns tokens and names the ledger account to credit (detokenisation);
 * - {retire} burns tokens for a beneficiary and purpose (a retirement in the ledger).
 *
 * Every burn gets the next {burnCount} number (`burnId`, from 0); the ledger's bridge watcher
 * applies each burn exactly once, after enough confirmations.
 *
 * Roles (OpenZeppelin {AccessControl}; {DEFAULT_ADMIN_ROLE} administers both):
 *
 * - {BATCH_REGISTRAR_ROLE} registers batches and their registry, vintage, methodology, region
 *   and block label ({registerBatch});
 * - {MINTER_ROLE} submits proven mints ({mint}). The proof makes minting safe for any caller;
 *   the role is defence in depth (a stolen anchorer key alone cannot mint).
 */
contract CarbonCreditToken is ERC1155Supply, AccessControl {
    /**
     * @notice Descriptive data of a credit batch, readable on chain.
     * @param vintage Vintage year of the credits.
     * @param blockLabel Batch (block) label in its registry, e.g. `HBCER-2024-000001`.
     * @param registry Registry prefix, e.g. `HBCER`.
     * @param methodology Methodology label (code and version).
     * @param region Region of the methodology, e.g. `Wuhan`.
     */
    struct BatchInfo {
        uint16 vintage;
        string blockLabel;
        string registry;
        string methodology;
        string region;
    }

    /**
     * @notice What a retirement on chain is for (see {retire}).
     * @param beneficiary Beneficiary of the retirement; non-blank.
     * @param purpose One of `compliance_offset`, `event_neutrality`, `operational_neutrality`,
     * `product_neutrality`, `eco_compensation`, `donation`, `voluntary`.
     * @param purposeDetail The purpose's detail: the compliance period, event, subject, product,
     * case reference or donation recipient; empty for `voluntary`, non-blank otherwise.
     * @param jurisdiction Jurisdiction of the retirement; non-blank.
     * @param consumptionPeriod Period whose emissions the retirement covers; non-blank.
     */
    struct Retirement {
        string beneficiary;
        string purpose;
        string purposeDetail;
        string jurisdiction;
        string consumptionPeriod;
    }

    /**
     * @dev The bridge message of a lock event, `abi.encode`d in the event as 6 words.
     * @param chainId Chain the lock is for.
     * @param token Token contract the lock is for.
     * @param batchId Batch of the lock (UUID bytes).
     * @param lockId Ledger lock id (UUID bytes).
     * @param recipient Address to mint to.
     * @param amount Token units to mint.
     */
    struct BridgeLock {
        uint256 chainId;
        address token;
        bytes16 batchId;
        bytes16 lockId;
        address recipient;
        uint256 amount;
    }

    /// @notice Role allowed to call {registerBatch}.
    bytes32 public constant BATCH_REGISTRAR_ROLE = keccak256("BATCH_REGISTRAR_ROLE");

    /// @notice Role allowed to call {mint}.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Token units per gram of CO2e: 10**18 units are one tonne.
    uint256 public constant UNITS_PER_GRAM = 1e12;

    /// @notice Maximum byte length of the text fields of a batch or a retirement.
    uint256 public constant MAX_TEXT_BYTES = 256;

    /// @dev keccak256 of the topic of the ledger's lock event.
    bytes32 private constant _LOCK_TOPIC_HASH =
        keccak256("ledger.domain.credit_batch:CreditBatch.LockedForTokens");

    /// @dev Domain-separation tag that starts every leaf of format v1 (28 bytes).
    bytes28 private constant _LEAF_TAG = bytes28("carbon-ledger/event-leaf/v1\n");

    /// @dev Bytes of a leaf before its topic: tag, position, originator id, version, topic length.
    uint256 private constant _LEAF_HEAD = 64;

    /// @dev The JSON key that precedes the bridge message in the event state (18 bytes).
    bytes18 private constant _MESSAGE_KEY = bytes18('"bridge_message":"');

    /// @dev Number of hex digits of the bridge message: 6 ABI words of 32 bytes.
    uint256 private constant _MESSAGE_HEX = 384;

    /// @dev Byte lanes masks for the word-at-a-time hex decoding in {_decodeHex32}.
    uint256 private constant _LANES_0F = 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
    uint256 private constant _LANES_01 = 0x0101010101010101010101010101010101010101010101010101010101010101;
    uint256 private constant _LANES_16 = 0x0001000100010001000100010001000100010001000100010001000100010001;
    uint256 private constant _LANES_32 = 0x0000000100000001000000010000000100000001000000010000000100000001;
    uint256 private constant _LANES_64 = 0x0000000000000001000000000000000100000000000000010000000000000001;
    uint256 private constant _LANES_128 = 0x0000000000000000000000000000000100000000000000000000000000000001;

    /// @notice The `AnchorRegistry` holding the anchored roots of the ledger's event log.
    IAnchoredRoots public immutable registry;

    mapping(uint256 id => BatchInfo) private _batches;
    mapping(bytes16 lockId => bool) private _mintedLocks;
    uint256 private _burnCount;

    /**
     * @notice Emitted when a batch is registered by {registerBatch}.
     * @param id Token id of the batch.
     * @param blockLabel Batch label.
     * @param registry Registry prefix.
     * @param vintage Vintage year.
     * @param methodology Methodology label.
     * @param region Region.
     */
    event BatchRegistered(
        uint256 indexed id,
        string blockLabel,
        string registry,
        uint16 vintage,
        string methodology,
        string region
    );

    /**
     * @notice Emitted when the tokens of a proven ledger lock are minted by {mint}.
     * @param lockId Id of the ledger lock (UUID bytes).
     * @param id Token id of the batch.
     * @param recipient Address that received the tokens (from the lock event).
     * @param amount Token units minted (from the lock event).
     * @param treeSize Size of the anchored tree the proof was checked against.
     * @param leafIndex Index of the lock event's leaf in that tree.
     */
    event LockMinted(
        bytes16 indexed lockId,
        uint256 indexed id,
        address indexed recipient,
        uint256 amount,
        uint64 treeSize,
        uint64 leafIndex
    );

    /**
     * @notice Emitted when tokens are burned by {redeem} to return credits to a ledger account.
     * @param burnId Sequence number of the burn (shared by {redeem} and {retire}).
     * @param id Token id of the batch.
     * @param holder Address whose tokens were burned.
     * @param ledgerAccount Ledger account (participant UUID bytes) to credit.
     * @param amount Token units burned (a multiple of {UNITS_PER_GRAM}).
     */
    event TokensRedeemed(
        uint256 indexed burnId,
        uint256 indexed id,
        address indexed holder,
        bytes16 ledgerAccount,
        uint256 amount
    );

    /**
     * @notice Emitted when tokens are burned by {retire} to retire the credits in the ledger.
     * @param burnId Sequence number of the burn (shared by {redeem} and {retire}).
     * @param id Token id of the batch.
     * @param holder Address whose tokens were burned.
     * @param amount Token units burned (a multiple of {UNITS_PER_GRAM}).
     * @param retirement Beneficiary, purpose, purpose detail, jurisdiction and consumption
     * period of the retirement.
     */
    event TokensRetired(
        uint256 indexed burnId,
        uint256 indexed id,
        address indexed holder,
        uint256 amount,
        Retirement retirement
    );

    /**
     * @notice The admin passed to the constructor is the zero address.
     * @param admin The rejected admin.
     */
    error CarbonCreditTokenInvalidAdmin(address admin);

    /**
     * @notice The registry passed to the constructor is not a contract.
     * @param registry The rejected registry address.
     */
    error CarbonCreditTokenInvalidRegistry(address registry);

    /**
     * @notice The batch to register has a zero id, a vintage outside 1990..2100, or an empty or
     * too long text field.
     * @param batchId The batch id (UUID bytes).
     * @param vintage The vintage given.
     */
    error CarbonCreditTokenInvalidBatch(bytes16 batchId, uint16 vintage);

    /**
     * @notice The batch is already registered.
     * @param batchId The batch id (UUID bytes).
     */
    error CarbonCreditTokenBatchAlreadyRegistered(bytes16 batchId);

    /**
     * @notice The batch is not registered.
     * @param batchId The batch id (UUID bytes).
     */
    error CarbonCreditTokenUnknownBatch(bytes16 batchId);

    /**
     * @notice No root is anchored in the registry for `treeSize` events.
     * @param treeSize The tree size given to {mint}.
     */
    error CarbonCreditTokenRootNotAnchored(uint64 treeSize);

    /**
     * @notice The inclusion proof does not prove the leaf against the anchored root.
     * @param leafHash SHA-256(0x00 || leaf).
     * @param leafIndex The leaf index given.
     * @param treeSize The tree size given.
     */
    error CarbonCreditTokenInvalidProof(bytes32 leafHash, uint64 leafIndex, uint64 treeSize);

    /**
     * @notice The leaf is not a well-formed `carbon-ledger/event-leaf/v1` leaf.
     * @param length The byte length of the leaf.
     */
    error CarbonCreditTokenMalformedLeaf(uint256 length);

    /**
     * @notice The proven event is not a `CreditBatch.LockedForTokens` event.
     * @param topicHash keccak256 of the event's topic.
     */
    error CarbonCreditTokenNotALockEvent(bytes32 topicHash);

    /**
     * @notice No well-formed bridge message starts at `offset` of the event state.
     * @param offset The offset given (relative to the start of the state).
     */
    error CarbonCreditTokenMalformedBridgeMessage(uint256 offset);

    /**
     * @notice The lock was made for another chain or another token contract.
     * @param chainId Chain id named by the lock.
     * @param token Token contract named by the lock.
     */
    error CarbonCreditTokenWrongDestination(uint256 chainId, address token);

    /**
     * @notice The batch named by the bridge message is not the aggregate that recorded the event.
     * @param messageBatchId Batch id in the message.
     * @param originatorId Originator (batch) id of the event.
     */
    error CarbonCreditTokenBatchMismatch(bytes16 messageBatchId, bytes16 originatorId);

    /**
     * @notice The lock's amount or recipient cannot be minted (zero amount, not whole grams, or
     * zero recipient).
     * @param recipient Recipient named by the lock.
     * @param amount Token units named by the lock.
     */
    error CarbonCreditTokenInvalidLock(address recipient, uint256 amount);

    /**
     * @notice The lock was minted before.
     * @param lockId The lock id (UUID bytes).
     */
    error CarbonCreditTokenLockAlreadyMinted(bytes16 lockId);

    /**
     * @notice A burn amount is zero or not a multiple of {UNITS_PER_GRAM} (not whole grams).
     * @param amount The rejected amount in token units.
     */
    error CarbonCreditTokenAmountNotWholeGrams(uint256 amount);

    /**
     * @notice {redeem} names the zero ledger account.
     * @param ledgerAccount The rejected account.
     */
    error CarbonCreditTokenInvalidLedgerAccount(bytes16 ledgerAccount);

    /**
     * @notice The retirement purpose is not one of the ledger's purposes.
     * @param purpose The rejected purpose.
     */
    error CarbonCreditTokenUnknownPurpose(string purpose);

    /**
     * @notice A text field of a retirement is blank, too long, or (for `purposeDetail`) present
     * for `voluntary` or missing for another purpose.
     * @param field The name of the rejected field.
     */
    error CarbonCreditTokenInvalidRetirement(string field);

    /**
     * @notice Deploys the token for the ledger whose roots are anchored in `registry_`.
     * @param registry_ The `AnchorRegistry` of the ledger's event log.
     * @param initialAdmin Receives {DEFAULT_ADMIN_ROLE}, {BATCH_REGISTRAR_ROLE} and {MINTER_ROLE}.
     * @param uri_ ERC-1155 metadata URI template (may be empty).
     *
     * @dev Reverts with {CarbonCreditTokenInvalidAdmin} for a zero admin and with
     * {CarbonCreditTokenInvalidRegistry} if `registry_` has no code.
     */
    constructor(IAnchoredRoots registry_, address initialAdmin, string memory uri_) ERC1155(uri_) {
        if (initialAdmin == address(0)) {
            revert CarbonCreditTokenInvalidAdmin(initialAdmin);
        }
        if (address(registry_).code.length == 0) {
            revert CarbonCreditTokenInvalidRegistry(address(registry_));
        }
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, initialAdmin);
        _grantRole(BATCH_REGISTRAR_ROLE, initialAdmin);
        _grantRole(MINTER_ROLE, initialAdmin);
    }

    // ------------------------------------------------------------------------------ batches

    /**
     * @notice Returns the token id of a batch: its UUID bytes as an unsigned integer.
     * @param batchId The batch id (UUID bytes, network order).
     * @return id The token id.
     */
    function tokenIdOf(bytes16 batchId) public pure returns (uint256 id) {
        return uint256(uint128(batchId));
    }

    /**
     * @notice Registers a credit batch so that its locks can be minted.
     * @param batchId The batch id (UUID bytes); its token id is {tokenIdOf}(`batchId`).
     * @param info Vintage, block label, registry, methodology and region of the batch.
     *
     * @dev Requirements: the caller has {BATCH_REGISTRAR_ROLE}; the id is non-zero and new
     * ({CarbonCreditTokenBatchAlreadyRegistered}); the vintage is within 1990..2100 and every text
     * field is non-empty and at most {MAX_TEXT_BYTES} bytes ({CarbonCreditTokenInvalidBatch}).
     * Emits {BatchRegistered}.
     */
    function registerBatch(
        bytes16 batchId,
        BatchInfo calldata info
    ) external onlyRole(BATCH_REGISTRAR_ROLE) {
        uint256 id = tokenIdOf(batchId);
        if (
            batchId == bytes16(0) ||
            info.vintage < 1990 ||
            info.vintage > 2100 ||
            !_isText(bytes(info.blockLabel)) ||
            !_isText(bytes(info.registry)) ||
            !_isText(bytes(info.methodology)) ||
            !_isText(bytes(info.region))
        ) {
            revert CarbonCreditTokenInvalidBatch(batchId, info.vintage);
        }
        if (_batches[id].vintage != 0) {
            revert CarbonCreditTokenBatchAlreadyRegistered(batchId);
        }
        _batches[id] = info;
        emit BatchRegistered(
            id,
            info.blockLabel,
            info.registry,
            info.vintage,
            info.methodology,
            info.region
        );
    }

    /**
     * @notice Returns whether the batch of token id `id` is registered.
     * @param id The token id.
     * @return registered True if {registerBatch} registered it.
     */
    function isBatchRegistered(uint256 id) public view returns (bool registered) {
        return _batches[id].vintage != 0;
    }

    /**
     * @notice Returns the registered data of the batch of token id `id`.
     * @param id The token id.
     * @return info The batch's vintage, block label, registry, methodology and region.
     *
     * @dev Reverts with {CarbonCreditTokenUnknownBatch} if the batch is not registered.
     */
    function batchInfo(uint256 id) external view returns (BatchInfo memory info) {
        if (!isBatchRegistered(id)) {
            revert CarbonCreditTokenUnknownBatch(bytes16(uint128(id)));
        }
        return _batches[id];
    }

    /**
     * @notice Returns the number of decimals of every token id: 18 (1 token = 1 t CO2e).
     * @return The number of decimals.
     */
    function decimals() external pure returns (uint8) {
        return 18;
    }

    // ------------------------------------------------------------------------------ minting

    /**
     * @notice Returns whether the ledger lock `lockId` has been minted.
     * @param lockId The lock id (UUID bytes).
     * @return minted True once {mint} minted it.
     */
    function isLockMinted(bytes16 lockId) external view returns (bool minted) {
        return _mintedLocks[lockId];
    }

    /**
     * @notice Mints the tokens of a ledger lock, proven by an RFC 9162 inclusion proof of its
     * event against a root anchored in {registry}.
     * @param leaf Canonical leaf bytes (`carbon-ledger/event-leaf/v1`) of the lock event.
     * @param leafIndex Index of the leaf in the anchored tree.
     * @param treeSize Size of the anchored tree; {registry} must hold a root for exactly it.
     * @param proof RFC 9162 inclusion path, from the leaf's sibling up to the root's child.
     * @param messageOffset Offset, in the event state (the leaf's last field), of the first hex
     * digit of the bridge message.
     * @return id Token id minted (the batch's).
     * @return recipient Address credited (from the event).
     * @return amount Token units minted (from the event).
     *
     * @dev Requirements, in the order checked:
     *
     * - the caller has {MINTER_ROLE};
     * - a root is anchored for `treeSize` ({CarbonCreditTokenRootNotAnchored});
     * - the proof verifies ({CarbonCreditTokenInvalidProof});
     * - the leaf is well-formed ({CarbonCreditTokenMalformedLeaf}) and its topic is the lock
     *   event's ({CarbonCreditTokenNotALockEvent});
     * - the state holds `"bridge_message":"` preceded by `{` or `,` and followed, at
     *   `messageOffset`, by 384 lower-case hex digits of six clean ABI words and `"`
     *   ({CarbonCreditTokenMalformedBridgeMessage}). JSON escapes every `"` inside a string
     *   as `\"`, so this is a key of the event's object, never text inside a string value;
     * - the message names the event's own batch ({CarbonCreditTokenBatchMismatch}), this
     *   chain and this contract ({CarbonCreditTokenWrongDestination}), a registered batch
     *   ({CarbonCreditTokenUnknownBatch}), a non-zero recipient and a non-zero amount of whole
     *   grams ({CarbonCreditTokenInvalidLock});
     * - the lock was not minted before ({CarbonCreditTokenLockAlreadyMinted}).
     *
     * Emits {LockMinted} and ERC-1155 `TransferSingle`. A recipient that is a contract must
     * accept ERC-1155 tokens.
     */
    function mint(
        bytes calldata leaf,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32[] calldata proof,
        uint256 messageOffset
    )
        external
        onlyRole(MINTER_ROLE)
        returns (uint256 id, address recipient, uint256 amount)
    {
        BridgeLock memory lock = _provenLock(leaf, leafIndex, treeSize, proof, messageOffset);
        if (lock.chainId != block.chainid || lock.token != address(this)) {
            revert CarbonCreditTokenWrongDestination(lock.chainId, lock.token);
        }
        id = tokenIdOf(lock.batchId);
        if (!isBatchRegistered(id)) {
            revert CarbonCreditTokenUnknownBatch(lock.batchId);
        }
        recipient = lock.recipient;
        amount = lock.amount;
        if (recipient == address(0) || amount == 0 || amount % UNITS_PER_GRAM != 0) {
            revert CarbonCreditTokenInvalidLock(recipient, amount);
        }
        if (_mintedLocks[lock.lockId]) {
            revert CarbonCreditTokenLockAlreadyMinted(lock.lockId);
        }
        _mintedLocks[lock.lockId] = true;
        emit LockMinted(lock.lockId, id, recipient, amount, treeSize, leafIndex);
        _mint(recipient, id, amount, "");
    }

    // ------------------------------------------------------------------------------ burning

    /**
     * @notice Returns the number of burns so far; the next burn gets this number as `burnId`.
     * @return count The number of burns.
     */
    function burnCount() external view returns (uint256 count) {
        return _burnCount;
    }

    /**
     * @notice Burns `amount` of the caller's tokens of batch `id` and returns the credits to
     * ledger account `ledgerAccount` (detokenisation), once the ledger's bridge watcher has seen
     * the burn with enough confirmations.
     * @param id Token id of the batch.
     * @param amount Token units to burn; a non-zero multiple of {UNITS_PER_GRAM}.
     * @param ledgerAccount Ledger account to credit (participant UUID bytes); non-zero.
     * @return burnId Sequence number of this burn.
     *
     * @dev Reverts with {CarbonCreditTokenAmountNotWholeGrams},
     * {CarbonCreditTokenInvalidLedgerAccount} or ERC-1155's `ERC1155InsufficientBalance`.
     * Emits `TransferSingle` and {TokensRedeemed}.
     */
    function redeem(
        uint256 id,
        uint256 amount,
        bytes16 ledgerAccount
    ) external returns (uint256 burnId) {
        _requireWholeGrams(amount);
        if (ledgerAccount == bytes16(0)) {
            revert CarbonCreditTokenInvalidLedgerAccount(ledgerAccount);
        }
        burnId = _burnCount++;
        _burn(_msgSender(), id, amount);
        emit TokensRedeemed(burnId, id, _msgSender(), ledgerAccount, amount);
    }

    /**
     * @notice Burns `amount` of the caller's tokens of batch `id` to retire (注销) the credits
     * in the ledger for a beneficiary and purpose. Permanent.
     * @param id Token id of the batch.
     * @param amount Token units to burn; a non-zero multiple of {UNITS_PER_GRAM}.
     * @param retirement Beneficiary, purpose, purpose detail, jurisdiction and consumption
     * period (see {Retirement}); text fields are at most {MAX_TEXT_BYTES} bytes.
     * @return burnId Sequence number of this burn.
     *
     * @dev Reverts with {CarbonCreditTokenAmountNotWholeGrams},
     * {CarbonCreditTokenUnknownPurpose}, {CarbonCreditTokenInvalidRetirement} or
     * `ERC1155InsufficientBalance`. Emits `TransferSingle` and {TokensRetired}.
     */
    function retire(
        uint256 id,
        uint256 amount,
        Retirement calldata retirement
    ) external returns (uint256 burnId) {
        _requireWholeGrams(amount);
        _checkRetirement(retirement);
        burnId = _burnCount++;
        _burn(_msgSender(), id, amount);
        emit TokensRetired(burnId, id, _msgSender(), amount, retirement);
    }

    // ------------------------------------------------------------------------------ ERC-165

    /// @inheritdoc ERC1155
    function supportsInterface(
        bytes4 interfaceId
    ) public view virtual override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------------------ internals

    /**
     * @dev The bridge message of the lock event `leaf`, once the leaf is proven against the root
     * anchored for `treeSize`, is a lock event, and its message names the event's own batch.
     */
    function _provenLock(
        bytes calldata leaf,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32[] calldata proof,
        uint256 messageOffset
    ) private view returns (BridgeLock memory lock) {
        bytes32 root = _anchoredRoot(treeSize);
        bytes32 leafHash = sha256(abi.encodePacked(bytes1(0x00), leaf));
        if (!_verifyInclusion(leafHash, leafIndex, treeSize, proof, root)) {
            revert CarbonCreditTokenInvalidProof(leafHash, leafIndex, treeSize);
        }
        (bytes16 originatorId, uint256 stateStart) = _parseLockLeaf(leaf);
        lock = _bridgeMessage(leaf, stateStart, messageOffset);
        if (lock.batchId != originatorId) {
            revert CarbonCreditTokenBatchMismatch(lock.batchId, originatorId);
        }
    }

    /// @dev The root anchored for `treeSize`, or {CarbonCreditTokenRootNotAnchored}.
    function _anchoredRoot(uint64 treeSize) private view returns (bytes32 root) {
        try registry.rootOf(treeSize) returns (bytes32 anchored) {
            if (anchored == bytes32(0)) {
                revert CarbonCreditTokenRootNotAnchored(treeSize);
            }
            return anchored;
        } catch {
            revert CarbonCreditTokenRootNotAnchored(treeSize);
        }
    }

    /**
     * @dev RFC 9162 section 2.1.3.2: verifies that `leafHash` is leaf `leafIndex` of the tree of
     * `treeSize` leaves with root `root`, with `proof` ordered from the leaf up. Node hashes are
     * SHA-256(0x01 || left || right), computed with the SHA-256 precompile.
     */
    function _verifyInclusion(
        bytes32 leafHash,
        uint64 leafIndex,
        uint64 treeSize,
        bytes32[] calldata proof,
        bytes32 root
    ) private pure returns (bool) {
        // 1. If leaf_index is greater than or equal to tree_size, fail.
        if (leafIndex >= treeSize) {
            return false;
        }
        // 2. Set fn to leaf_index and sn to tree_size - 1. 3. Set r to hash.
        uint256 fn = leafIndex;
        uint256 sn = uint256(treeSize) - 1;
        bytes32 r = leafHash;
        // 4. For each value p in the inclusion_path array:
        for (uint256 i = 0; i < proof.length; ++i) {
            // a. If sn is 0, then stop the iteration and fail the proof verification.
            if (sn == 0) {
                return false;
            }
            bytes32 p = proof[i];
            // b. If LSB(fn) is set, or if fn is equal to sn, then:
            if (fn & 1 == 1 || fn == sn) {
                // i. Set r to HASH(0x01 || p || r).
                r = sha256(abi.encodePacked(bytes1(0x01), p, r));
                // ii. If LSB(fn) is not set, right-shift fn and sn equally until either LSB(fn)
                //     is set or fn is 0.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                // Otherwise: i. Set r to HASH(0x01 || r || p).
                r = sha256(abi.encodePacked(bytes1(0x01), r, p));
            }
            // c. Finally, right-shift both fn and sn one time.
            fn >>= 1;
            sn >>= 1;
        }
        // 5. Compare sn to 0. Compare r against the root_hash.
        return sn == 0 && r == root;
    }

    /**
     * @dev Parses a `carbon-ledger/event-leaf/v1` leaf: tag (28 bytes), position (8), originator
     * id (16), originator version (8), topic length (4), topic, state length (4), state. Requires
     * the topic of the lock event; returns the originator id and where the state starts.
     */
    function _parseLockLeaf(
        bytes calldata leaf
    ) private pure returns (bytes16 originatorId, uint256 stateStart) {
        if (leaf.length < _LEAF_HEAD + 4 || bytes28(leaf[0:28]) != _LEAF_TAG) {
            revert CarbonCreditTokenMalformedLeaf(leaf.length);
        }
        originatorId = bytes16(leaf[36:52]);
        uint256 topicLength = uint32(bytes4(leaf[60:64]));
        uint256 topicEnd = _LEAF_HEAD + topicLength;
        if (topicEnd + 4 > leaf.length) {
            revert CarbonCreditTokenMalformedLeaf(leaf.length);
        }
        uint256 stateLength = uint32(bytes4(leaf[topicEnd:topicEnd + 4]));
        stateStart = topicEnd + 4;
        if (stateStart + stateLength != leaf.length) {
            revert CarbonCreditTokenMalformedLeaf(leaf.length);
        }
        bytes32 topicHash = keccak256(leaf[_LEAF_HEAD:topicEnd]);
        if (topicHash != _LOCK_TOPIC_HASH) {
            revert CarbonCreditTokenNotALockEvent(topicHash);
        }
    }

    /**
     * @dev The bridge message whose hex digits start at `offset` of the state: the digits must be
     * preceded by `{"bridge_message":"` or `,"bridge_message":"` and followed by `"`, be exactly
     * 384 lower-case hex digits, and decode to six clean ABI words (addresses and `bytes16`
     * with zero padding), as `abi.encode` produces them.
     */
    function _bridgeMessage(
        bytes calldata leaf,
        uint256 stateStart,
        uint256 offset
    ) private pure returns (BridgeLock memory lock) {
        uint256 stateLength = leaf.length - stateStart;
        if (offset <= _MESSAGE_KEY.length || offset + _MESSAGE_HEX >= stateLength) {
            revert CarbonCreditTokenMalformedBridgeMessage(offset);
        }
        uint256 start = stateStart + offset;
        bytes1 before = leaf[start - _MESSAGE_KEY.length - 1];
        if (
            (before != "{" && before != ",") ||
            bytes18(leaf[start - _MESSAGE_KEY.length:start]) != _MESSAGE_KEY ||
            leaf[start + _MESSAGE_HEX] != '"'
        ) {
            revert CarbonCreditTokenMalformedBridgeMessage(offset);
        }
        uint256[6] memory words;
        bool valid = true;
        for (uint256 k = 0; k < 6; ++k) {
            (uint256 high, bool highValid) = _decodeHex32(leaf, start + 64 * k);
            (uint256 low, bool lowValid) = _decodeHex32(leaf, start + 64 * k + 32);
            words[k] = (high << 128) | low;
            valid = valid && highValid && lowValid;
        }
        // abi.encode pads addresses on the left and bytes16 on the right with zeros.
        if (
            !valid ||
            words[1] >> 160 != 0 ||
            uint128(words[2]) != 0 ||
            uint128(words[3]) != 0 ||
            words[4] >> 160 != 0
        ) {
            revert CarbonCreditTokenMalformedBridgeMessage(offset);
        }
        lock = BridgeLock({
            chainId: words[0],
            token: address(uint160(words[1])),
            batchId: bytes16(bytes32(words[2])),
            lockId: bytes16(bytes32(words[3])),
            recipient: address(uint160(words[4])),
            amount: words[5]
        });
    }

    /**
     * @dev Decodes the 32 hex digits at `index` of `leaf` into 16 bytes (returned in the low 128
     * bits), one 32-byte word at a time, and whether they are all lower-case hex digits.
     *
     * Per byte lane, a digit `c` has the value `n = (c & 0x0f) + 9 * ((c >> 6) & 1)` ('0'..'9'
     * give 0..9, 'a'..'f' give 10..15). The digits are valid exactly when every `n` is below 16
     * and re-encoding `n` (`n + 0x30`, plus `0x27` when `n > 9`) gives `c` back. No lane
     * overflows into the next one. The 32 nibbles are then packed pairwise into bytes and the
     * bytes compacted into the low half of the word.
     */
    function _decodeHex32(
        bytes calldata leaf,
        uint256 index
    ) private pure returns (uint256 value, bool valid) {
        uint256 chars = uint256(bytes32(leaf[index:index + 32]));
        uint256 n = (chars & _LANES_0F) + 9 * ((chars >> 6) & _LANES_01);
        uint256 encoded = n + 0x30 * _LANES_01 + 0x27 * (((n + 6 * _LANES_01) >> 4) & _LANES_01);
        valid = encoded == chars && ((n + 0x70 * _LANES_01) & (0x80 * _LANES_01)) == 0;
        // [0h 0l] per 16-bit group -> [00 hl]
        uint256 t = ((n >> 4) & (0x00f0 * _LANES_16)) | (n & (0x000f * _LANES_16));
        t = (t | (t >> 8)) & (0x0000ffff * _LANES_32);
        t = (t | (t >> 16)) & (0x00000000ffffffff * _LANES_64);
        t = (t | (t >> 32)) & (0x0000000000000000ffffffffffffffff * _LANES_128);
        value = (t | (t >> 64)) & type(uint128).max;
    }

    /// @dev Reverts with {CarbonCreditTokenAmountNotWholeGrams} unless `amount` is a non-zero
    /// multiple of {UNITS_PER_GRAM}.
    function _requireWholeGrams(uint256 amount) private pure {
        if (amount == 0 || amount % UNITS_PER_GRAM != 0) {
            revert CarbonCreditTokenAmountNotWholeGrams(amount);
        }
    }

    /// @dev Reverts with {CarbonCreditTokenUnknownPurpose} or
    /// {CarbonCreditTokenInvalidRetirement} unless `retirement` would be accepted by the ledger.
    function _checkRetirement(Retirement calldata retirement) private pure {
        bool voluntary = _checkPurpose(retirement.purpose);
        if (!_isText(bytes(retirement.beneficiary))) {
            revert CarbonCreditTokenInvalidRetirement("beneficiary");
        }
        bytes calldata detail = bytes(retirement.purposeDetail);
        if (voluntary ? detail.length != 0 : !_isText(detail)) {
            revert CarbonCreditTokenInvalidRetirement("purposeDetail");
        }
        if (!_isText(bytes(retirement.jurisdiction))) {
            revert CarbonCreditTokenInvalidRetirement("jurisdiction");
        }
        if (!_isText(bytes(retirement.consumptionPeriod))) {
            revert CarbonCreditTokenInvalidRetirement("consumptionPeriod");
        }
    }

    /// @dev Reverts with {CarbonCreditTokenUnknownPurpose} unless `purpose` is a ledger purpose;
    /// returns whether it is `voluntary`.
    function _checkPurpose(string calldata purpose) private pure returns (bool voluntary) {
        bytes32 h = keccak256(bytes(purpose));
        if (h == keccak256("voluntary")) {
            return true;
        }
        if (
            h != keccak256("compliance_offset") &&
            h != keccak256("event_neutrality") &&
            h != keccak256("operational_neutrality") &&
            h != keccak256("product_neutrality") &&
            h != keccak256("eco_compensation") &&
            h != keccak256("donation")
        ) {
            revert CarbonCreditTokenUnknownPurpose(purpose);
        }
        return false;
    }

    /// @dev Whether `text` is at most {MAX_TEXT_BYTES} bytes and holds a byte other than ASCII
    /// whitespace (space, tab, line feed, vertical tab, form feed, carriage return).
    function _isText(bytes memory text) private pure returns (bool) {
        if (text.length > MAX_TEXT_BYTES) {
            return false;
        }
        for (uint256 i = 0; i < text.length; ++i) {
            bytes1 c = text[i];
            if (c != 0x20 && (c < 0x09 || c > 0x0d)) {
                return true;
            }
        }
        return false;
    }
}
